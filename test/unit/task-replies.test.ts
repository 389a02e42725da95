// The input-required state and replies: an assignee asks its delegator a question (UPDATE with state
// INPUT_REQUIRED), the delegator replies (REPLY), the task goes back to working at both ends, and the
// reply is the assignee's exactly once.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TaskError } from '../../src/protocols/tasks/errors.js'
import { TaskMessage } from '../../src/protocols/tasks/pb/task.js'
import { receiveReply, reply } from '../../src/protocols/tasks/replies.js'
import { type TaskEvent, type TaskRow, TaskStore } from '../../src/protocols/tasks/task-store.js'
import { validateMessage } from '../../src/protocols/tasks/validate.js'
import { Store } from '../../src/store/database.js'

const HOUR = 3600 * 1000
const ALICE = 'peer-alice'
const BOB = 'peer-bob'

let dir: string
let stores: Store[]
let now: number

interface Side {
  store: Store
  tasks: TaskStore
  events: TaskEvent[]
}

function side(name: string): Side {
  const store = new Store(join(dir, `${name}.db`))
  stores.push(store)
  const events: TaskEvent[] = []
  const tasks = new TaskStore({ db: store.db, onEvent: (e) => events.push(e), now: () => now })
  return { store, tasks, events }
}

let alice: Side
let bob: Side

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawlink-replies-'))
  stores = []
  now = 1_700_000_000_000
  alice = side('alice')
  bob = side('bob')
})

afterEach(() => {
  for (const s of stores) s.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Takes every queued message of `from` off its outbox (as if acknowledged), decoded. */
function drain(from: Side): TaskMessage[] {
  const rows = from.tasks.due(1000)
  for (const r of rows) from.tasks.acked(r)
  return rows.map((r) => TaskMessage.decode(r.payload))
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    if (err instanceof TaskError) return err.code
    throw err
  }
  return undefined
}

/** Alice delegates to bob, bob stores it and asks a question; alice stores the question. */
function asked(): { sent: TaskRow; received: TaskRow } {
  const sent = alice.tasks.delegate({
    peer: BOB,
    peerName: 'bob',
    task: 'book a table',
    context: null,
    priority: 'normal',
    ttl: HOUR,
  })
  const [delegate] = drain(alice)
  bob.tasks.receiveDelegate(ALICE, 'alice', delegate!, 100)
  const received = bob.tasks.get('received', ALICE, sent.id)!
  bob.tasks.respond(received, 'input-required', 'for how many people?')
  const [update] = drain(bob)
  expect(update!.state).toBe(TaskMessage.State.INPUT_REQUIRED)
  validateMessage(update!, 1024)
  const result = alice.tasks.receiveNotice(BOB, update!)
  expect(result.status).toBe('stored')
  return {
    sent: alice.tasks.get('sent', BOB, sent.id)!,
    received: bob.tasks.get('received', ALICE, sent.id)!,
  }
}

describe('input-required and reply', () => {
  it('the question reaches the delegator as a task_update in state input-required', () => {
    const { sent, received } = asked()
    expect(sent.state).toBe('input-required')
    expect(sent.result).toBe('for how many people?')
    expect(received.state).toBe('input-required')
    const update = alice.events.at(-1)!
    expect(update.type).toBe('task_update')
    expect(update.row.state).toBe('input-required')
  })

  it('a reply makes the task working at both ends and reaches the assignee exactly once', () => {
    const { sent } = asked()
    const after = alice.store.transaction(() => reply(alice.tasks, sent, 'four'))
    expect(after.state).toBe('working')
    // the question is answered: it is no longer the task's result
    expect(alice.tasks.get('sent', BOB, sent.id)!.result).toBeNull()
    const [msg] = drain(alice)
    expect(msg!.kind).toBe(TaskMessage.Kind.REPLY)
    expect(msg!.text).toBe('four')
    validateMessage(msg!, 1024)
    const before = bob.events.length
    const first = bob.store.transaction(() => receiveReply(bob.tasks, ALICE, msg!))
    expect(first.status).toBe('stored')
    // the same message again (its ack was lost): no second event
    const again = bob.store.transaction(() => receiveReply(bob.tasks, ALICE, msg!))
    expect(again.status).toBe('duplicate')
    const replies = bob.events.slice(before)
    expect(replies).toHaveLength(1)
    expect(replies[0]!.type).toBe('task_reply')
    expect(replies[0]!.text).toBe('four')
    expect(bob.tasks.get('received', ALICE, sent.id)!.state).toBe('working')
    expect(bob.tasks.get('received', ALICE, sent.id)!.result).toBeNull()
    // the assignee can ask again, then finish
    const row = bob.tasks.get('received', ALICE, sent.id)!
    bob.tasks.respond(row, 'input-required', 'inside or outside?')
    bob.tasks.respond(bob.tasks.get('received', ALICE, sent.id)!, 'completed', 'booked')
    for (const m of drain(bob)) alice.tasks.receiveNotice(BOB, m)
    expect(alice.tasks.get('sent', BOB, sent.id)!.state).toBe('completed')
  })

  it('replies only on an open task the agent delegated', () => {
    const { sent, received } = asked()
    expect(codeOf(() => alice.store.transaction(() => reply(alice.tasks, received, 'x')))).toBe('not_yours')
    alice.tasks.cancel(sent, 'no longer needed')
    expect(codeOf(() => alice.store.transaction(() => reply(alice.tasks, sent, 'x')))).toBe('final')
  })

  it('the assignee refuses a reply on a task it does not have or that is final', () => {
    const { sent, received } = asked()
    const msg = (taskId: string): TaskMessage => ({
      kind: TaskMessage.Kind.REPLY,
      msgId: TaskStore.newId(),
      taskId,
      task: '',
      context: '',
      priority: TaskMessage.Priority.NORMAL,
      createdAt: BigInt(now),
      expiresAt: 0n,
      state: TaskMessage.State.UNSPECIFIED,
      result: '',
      reason: '',
      text: 'hello',
    })
    expect(bob.store.transaction(() => receiveReply(bob.tasks, ALICE, msg('no-such-task'))).status).toBe(
      'rejected',
    )
    bob.tasks.respond(received, 'completed', 'done')
    expect(bob.store.transaction(() => receiveReply(bob.tasks, ALICE, msg(sent.id))).status).toBe('rejected')
  })

  it('an input-required task still counts as open (quota and load)', () => {
    asked()
    expect(bob.tasks.openCount()).toBe(1)
    expect(bob.tasks.list({ open: true }).map((t) => t.state)).toEqual(['input-required'])
  })

  it('the wire rules: a REPLY needs text, only a REPLY carries it', () => {
    const base: TaskMessage = {
      kind: TaskMessage.Kind.REPLY,
      msgId: 'm1',
      taskId: 't1',
      task: '',
      context: '',
      priority: TaskMessage.Priority.NORMAL,
      createdAt: 0n,
      expiresAt: 0n,
      state: TaskMessage.State.UNSPECIFIED,
      result: '',
      reason: '',
    }
    expect(() => validateMessage(base, 1024)).toThrow(/empty reply/)
    expect(() => validateMessage({ ...base, text: 'x'.repeat(2000) }, 1024)).toThrow(/reply over/)
    expect(() =>
      validateMessage(
        { ...base, kind: TaskMessage.Kind.UPDATE, state: TaskMessage.State.WORKING, text: 'x' },
        1024,
      ),
    ).toThrow(/not a REPLY/)
    // a round trip keeps the text
    const decoded = TaskMessage.decode(TaskMessage.encode({ ...base, text: 'hi' }))
    expect(decoded.text).toBe('hi')
  })
})
