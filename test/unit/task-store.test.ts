import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { taskJson } from '../../src/core/task-json.js'
import { NOTICE_TTL, SEEN_RETENTION } from '../../src/protocols/tasks/constants.js'
import { TaskError } from '../../src/protocols/tasks/errors.js'
import { TaskMessage } from '../../src/protocols/tasks/pb/task.js'
import {
  type OutboxRow,
  type TaskEvent,
  type TaskRow,
  TaskStore,
} from '../../src/protocols/tasks/task-store.js'
import { Store } from '../../src/store/database.js'

const T0 = 1_700_000_000_000
const HOUR = 3600 * 1000
const BOB = 'peer-bob'
const CAROL = 'peer-carol'

let dir: string
let path: string
let now: number
let stores: Store[]
let store: Store
let events: ReturnType<typeof vi.fn<(event: TaskEvent) => void>>
let tasks: TaskStore

function open(): { store: Store; tasks: TaskStore } {
  const s = new Store(path)
  stores.push(s)
  const t = new TaskStore({
    db: s.db,
    onEvent: events,
    now: () => now,
  })
  return { store: s, tasks: t }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawlink-taskstore-'))
  path = join(dir, 'store.db')
  now = T0
  stores = []
  events = vi.fn<(event: TaskEvent) => void>()
  ;({ store, tasks } = open())
})

afterEach(() => {
  for (const s of stores) s.close()
  rmSync(dir, { recursive: true, force: true })
})

/** The TaskError code `fn` throws (anything else is rethrown; no throw gives undefined). */
function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    if (err instanceof TaskError) return err.code
    throw err
  }
  return undefined
}

function delegate(over: Partial<Parameters<TaskStore['delegate']>[0]> = {}): TaskRow {
  return tasks.delegate({
    peer: BOB,
    peerName: 'bob',
    task: 'review the PR',
    context: '{"pr":42}',
    priority: 'high',
    ttl: HOUR,
    ...over,
  })
}

/** Everything in the outbox (due or not), oldest first, with payloads decoded. */
function outbox(): Array<{ row: OutboxRow; msg: TaskMessage }> {
  const saved = now
  now = Number.MAX_SAFE_INTEGER
  try {
    return tasks.due(10_000).map((row) => ({ row, msg: TaskMessage.decode(row.payload) }))
  } finally {
    now = saved
  }
}

function delegateMsg(over: Partial<TaskMessage> = {}): TaskMessage {
  const id = over.taskId ?? TaskStore.newId()
  return {
    kind: TaskMessage.Kind.DELEGATE,
    msgId: id,
    taskId: id,
    task: 'translate this',
    context: '{"lang":"fr"}',
    priority: TaskMessage.Priority.URGENT,
    createdAt: BigInt(T0 - 1000),
    expiresAt: BigInt(T0 + HOUR),
    state: TaskMessage.State.UNSPECIFIED,
    result: '',
    reason: '',
    ...over,
  }
}

function updateMsg(taskId: string, state: TaskMessage.State, over: Partial<TaskMessage> = {}): TaskMessage {
  return {
    kind: TaskMessage.Kind.UPDATE,
    msgId: TaskStore.newId(),
    taskId,
    task: '',
    context: '',
    priority: TaskMessage.Priority.NORMAL,
    createdAt: BigInt(now),
    expiresAt: 0n,
    state,
    result: '',
    reason: '',
    ...over,
  }
}

function cancelMsg(taskId: string, reason = ''): TaskMessage {
  return {
    kind: TaskMessage.Kind.CANCEL,
    msgId: TaskStore.newId(),
    taskId,
    task: '',
    context: '',
    priority: TaskMessage.Priority.NORMAL,
    createdAt: BigInt(now),
    expiresAt: 0n,
    state: TaskMessage.State.CANCELED,
    result: '',
    reason,
  }
}

/** A task bob delegated to us, stored. */
function received(over: Partial<TaskMessage> = {}): TaskRow {
  const res = tasks.receiveDelegate(BOB, 'bob', delegateMsg(over), 100)
  if (res.status !== 'stored') throw new Error(`not stored: ${JSON.stringify(res)}`)
  events.mockClear()
  return res.row
}

/** A task we delegated to bob, acknowledged by bob. */
function delivered(): TaskRow {
  const row = delegate()
  const msg = tasks.due(10_000).find((m) => m.taskId === row.id)
  tasks.acked(msg!)
  events.mockClear()
  return tasks.get('sent', BOB, row.id)!
}

describe('delegate', () => {
  it('stores a submitted task and one DELEGATE message in the outbox that decodes to the task', () => {
    const row = delegate()
    expect(row).toMatchObject({
      direction: 'sent',
      peer: BOB,
      peerName: 'bob',
      task: 'review the PR',
      context: '{"pr":42}',
      priority: 'high',
      state: 'submitted',
      result: null,
      reason: null,
      createdAt: T0,
      updatedAt: T0,
      expiresAt: T0 + HOUR,
    })
    expect(tasks.get('sent', BOB, row.id)).toEqual(row)
    const out = outbox()
    expect(out).toHaveLength(1)
    expect(out[0]!.row).toMatchObject({
      peer: BOB,
      kind: TaskMessage.Kind.DELEGATE,
      taskId: row.id,
      expiresAt: T0 + HOUR,
      attempts: 0,
      nextAt: T0,
    })
    expect(out[0]!.msg).toEqual({
      kind: TaskMessage.Kind.DELEGATE,
      msgId: out[0]!.row.msgId,
      taskId: row.id,
      task: 'review the PR',
      context: '{"pr":42}',
      priority: TaskMessage.Priority.HIGH,
      createdAt: BigInt(T0),
      expiresAt: BigInt(T0 + HOUR),
      state: TaskMessage.State.UNSPECIFIED,
      result: '',
      reason: '',
    })
    expect(events).not.toHaveBeenCalled()
  })

  it('gives every task its own id and stores a null context as null', () => {
    const a = delegate({ context: null })
    const b = delegate({ context: null })
    expect(a.id).not.toBe(b.id)
    expect(a.context).toBeNull()
    expect(TaskMessage.decode(outbox()[0]!.row.payload).context).toBe('')
    expect(tasks.outboxSize()).toBe(2)
  })

  it('is due at once; acked() removes the message and marks the task delivered', () => {
    const row = delegate()
    const due = tasks.due(10)
    expect(due.map((m) => m.taskId)).toEqual([row.id])
    now += 5
    const updated = tasks.acked(due[0]!)
    expect(updated).toMatchObject({ id: row.id, state: 'delivered', updatedAt: T0 + 5 })
    expect(tasks.get('sent', BOB, row.id)!.state).toBe('delivered')
    expect(tasks.due(10)).toEqual([])
    expect(tasks.outboxSize()).toBe(0)
    expect(tasks.nextDue()).toBeUndefined()
  })

  it('acked() a second time (a duplicate ack) changes nothing', () => {
    const row = delegate()
    const [msg] = tasks.due(10)
    tasks.acked(msg!)
    expect(tasks.acked(msg!)).toBeUndefined()
    expect(tasks.get('sent', BOB, row.id)!.state).toBe('delivered')
  })

  it('refused() makes the task rejected with the reason and emits a task_update', () => {
    const row = delegate()
    const [msg] = tasks.due(10)
    now += 7
    const updated = tasks.refused(msg!, 'inbox full')
    expect(updated).toMatchObject({ id: row.id, state: 'rejected', reason: 'inbox full', updatedAt: T0 + 7 })
    expect(tasks.get('sent', BOB, row.id)).toEqual(updated)
    expect(tasks.outboxSize()).toBe(0)
    expect(events).toHaveBeenCalledTimes(1)
    expect(events).toHaveBeenCalledWith({ type: 'task_update', row: updated })
  })

  it('refused() of an UPDATE only drops the message', () => {
    const row = received()
    tasks.respond(row, 'completed', 'done')
    const [msg] = tasks.due(10)
    expect(tasks.refused(msg!, 'no task between us')).toBeUndefined()
    expect(tasks.get('received', BOB, row.id)!.state).toBe('completed')
    expect(tasks.outboxSize()).toBe(0)
    expect(events).not.toHaveBeenCalled()
  })

  it('lists tasks newest first, and only open ones when asked', () => {
    const a = delegate()
    now += 1
    const b = delegate()
    now += 1
    const c = delegate()
    tasks.cancel(b, null)
    expect(tasks.list().map((t) => t.id)).toEqual([c.id, b.id, a.id])
    expect(tasks.list({ open: true }).map((t) => t.id)).toEqual([c.id, a.id])
    expect(tasks.list({ limit: 1 }).map((t) => t.id)).toEqual([c.id])
    expect(tasks.find(b.id).map((t) => t.state)).toEqual(['canceled'])
  })
})

describe('receiveDelegate', () => {
  it('stores a delivered task and emits exactly one task event', () => {
    const msg = delegateMsg()
    const res = tasks.receiveDelegate(BOB, 'bob', msg, 10)
    expect(res.status).toBe('stored')
    const row = tasks.get('received', BOB, msg.taskId)
    expect(row).toMatchObject({
      id: msg.taskId,
      direction: 'received',
      peer: BOB,
      peerName: 'bob',
      task: 'translate this',
      context: '{"lang":"fr"}',
      priority: 'urgent',
      state: 'delivered',
      createdAt: T0 - 1000,
      updatedAt: T0,
      expiresAt: T0 + HOUR,
    })
    expect(res).toEqual({ status: 'stored', row })
    expect(events).toHaveBeenCalledTimes(1)
    expect(events).toHaveBeenCalledWith({ type: 'task', row })
    expect(tasks.openCount()).toBe(1)
  })

  it('stores an empty context as null', () => {
    const row = received({ context: '' })
    expect(row.context).toBeNull()
  })

  it('treats the same message again as a duplicate, with no second event', () => {
    const msg = delegateMsg()
    expect(tasks.receiveDelegate(BOB, 'bob', msg, 10).status).toBe('stored')
    now += 1000
    expect(tasks.receiveDelegate(BOB, 'bob', msg, 10)).toEqual({ status: 'duplicate' })
    expect(events).toHaveBeenCalledTimes(1)
    expect(tasks.find(msg.taskId)).toHaveLength(1)
  })

  it('is still a duplicate after the task is final (a late retry does not resurrect it)', () => {
    const msg = delegateMsg()
    const res = tasks.receiveDelegate(BOB, 'bob', msg, 10)
    if (res.status !== 'stored') throw new Error('not stored')
    tasks.respond(res.row, 'completed', 'ok')
    expect(tasks.receiveDelegate(BOB, 'bob', msg, 10)).toEqual({ status: 'duplicate' })
    expect(tasks.get('received', BOB, msg.taskId)!.state).toBe('completed')
    expect(events).toHaveBeenCalledTimes(1)
  })

  it('keeps tasks of different senders with the same id apart', () => {
    const msg = delegateMsg()
    expect(tasks.receiveDelegate(BOB, 'bob', msg, 10).status).toBe('stored')
    expect(tasks.receiveDelegate(CAROL, 'carol', msg, 10).status).toBe('stored')
    expect(
      tasks
        .find(msg.taskId)
        .map((t) => t.peer)
        .sort(),
    ).toEqual([BOB, CAROL])
    expect(events).toHaveBeenCalledTimes(2)
  })

  it('rejects over the per-sender limit of open tasks; other senders are not affected', () => {
    for (let i = 0; i < 3; i++)
      expect(tasks.receiveDelegate(BOB, 'bob', delegateMsg(), 3).status).toBe('stored')
    events.mockClear()
    const res = tasks.receiveDelegate(BOB, 'bob', delegateMsg(), 3)
    expect(res.status).toBe('rejected')
    expect(res.status === 'rejected' && res.reason).toMatch(/limit 3/)
    expect(events).not.toHaveBeenCalled()
    expect(tasks.receiveDelegate(CAROL, 'carol', delegateMsg(), 3).status).toBe('stored')
    expect(tasks.openCount()).toBe(4)
  })

  it('counts only open tasks toward the limit: finishing one makes room', () => {
    const first = tasks.receiveDelegate(BOB, 'bob', delegateMsg(), 1)
    if (first.status !== 'stored') throw new Error('not stored')
    expect(tasks.receiveDelegate(BOB, 'bob', delegateMsg(), 1).status).toBe('rejected')
    tasks.respond(first.row, 'working', '')
    expect(tasks.receiveDelegate(BOB, 'bob', delegateMsg(), 1).status).toBe('rejected')
    tasks.respond(tasks.get('received', BOB, first.row.id)!, 'failed', 'no')
    expect(tasks.receiveDelegate(BOB, 'bob', delegateMsg(), 1).status).toBe('stored')
  })

  it('rejects a message that expired before it arrived', () => {
    const msg = delegateMsg({ expiresAt: BigInt(T0) })
    const res = tasks.receiveDelegate(BOB, 'bob', msg, 10)
    expect(res.status).toBe('rejected')
    expect(res.status === 'rejected' && res.reason).toMatch(/expired/)
    expect(tasks.get('received', BOB, msg.taskId)).toBeUndefined()
    expect(events).not.toHaveBeenCalled()
  })
})

describe('respond', () => {
  it('moves delivered → working → working → completed, each with an UPDATE in the outbox', () => {
    let row = received()
    now += 1
    row = tasks.respond(row, 'working', 'started')
    expect(row).toMatchObject({ state: 'working', result: 'started', updatedAt: T0 + 1 })
    now += 1
    row = tasks.respond(row, 'working', 'half way')
    now += 1
    row = tasks.respond(row, 'completed', 'the answer')
    expect(row).toMatchObject({ state: 'completed', result: 'the answer', updatedAt: T0 + 3 })
    expect(tasks.get('received', BOB, row.id)).toEqual(row)
    expect(tasks.openCount()).toBe(0)

    const out = outbox()
    expect(out).toHaveLength(3)
    for (const { row: o } of out) {
      expect(o).toMatchObject({ peer: BOB, kind: TaskMessage.Kind.UPDATE, taskId: row.id })
    }
    expect(out.map(({ msg }) => [msg.state, msg.result])).toEqual([
      [TaskMessage.State.WORKING, 'started'],
      [TaskMessage.State.WORKING, 'half way'],
      [TaskMessage.State.COMPLETED, 'the answer'],
    ])
    expect(new Set(out.map(({ msg }) => msg.msgId)).size).toBe(3)
    expect(out[2]!.row.expiresAt).toBe(T0 + 3 + NOTICE_TTL)
    expect(events).not.toHaveBeenCalled()
  })

  it('keeps final states final', () => {
    for (const state of ['completed', 'failed', 'rejected'] as const) {
      const row = tasks.respond(received(), state, 'x')
      const size = tasks.outboxSize()
      expect(codeOf(() => tasks.respond(row, 'completed', 'again'))).toBe('final')
      expect(codeOf(() => tasks.respond(row, 'working', 'again'))).toBe('final')
      expect(tasks.get('received', BOB, row.id)).toMatchObject({ state, result: 'x' })
      expect(tasks.outboxSize()).toBe(size)
    }
  })

  it('cannot go back', () => {
    const row = tasks.respond(received(), 'working', 'on it')
    expect(codeOf(() => tasks.respond(row, 'delivered', ''))).toBe('invalid')
    expect(codeOf(() => tasks.respond(row, 'submitted', ''))).toBe('invalid')
    expect(tasks.get('received', BOB, row.id)!.state).toBe('working')
    expect(tasks.outboxSize()).toBe(1)
  })

  it('refuses states an UPDATE cannot carry', () => {
    const row = received()
    for (const state of ['canceled', 'expired', 'delivered'] as const) {
      expect(codeOf(() => tasks.respond(row, state, ''))).toBe('invalid')
    }
    expect(tasks.get('received', BOB, row.id)!.state).toBe('delivered')
    expect(tasks.outboxSize()).toBe(0)
  })

  it('refuses a task this agent delegated: not_yours', () => {
    const row = delegate()
    expect(codeOf(() => tasks.respond(row, 'completed', 'x'))).toBe('not_yours')
    expect(tasks.get('sent', BOB, row.id)!.state).toBe('submitted')
    expect(tasks.outboxSize()).toBe(1)
  })

  it('checks the stored state, not a stale copy: a task the delegator canceled stays canceled', () => {
    const stale = received()
    tasks.receiveNotice(BOB, cancelMsg(stale.id, 'never mind'))
    expect(codeOf(() => tasks.respond(stale, 'completed', 'done anyway'))).toBe('final')
    expect(tasks.get('received', BOB, stale.id)).toMatchObject({ state: 'canceled', reason: 'never mind' })
    expect(tasks.outboxSize()).toBe(0)
  })
})

describe('receiveNotice', () => {
  it('an UPDATE moves a sent task forward and emits a task_update', () => {
    const row = delivered()
    now += 10
    const res = tasks.receiveNotice(BOB, updateMsg(row.id, TaskMessage.State.WORKING, { result: 'on it' }))
    expect(res.status).toBe('stored')
    const after = tasks.get('sent', BOB, row.id)
    expect(after).toMatchObject({ state: 'working', result: 'on it', updatedAt: T0 + 10 })
    expect(res).toEqual({ status: 'stored', row: after })
    expect(events).toHaveBeenCalledTimes(1)
    expect(events).toHaveBeenCalledWith({ type: 'task_update', row: after })

    const done = tasks.receiveNotice(BOB, updateMsg(row.id, TaskMessage.State.COMPLETED, { result: '42' }))
    expect(done.status).toBe('stored')
    expect(tasks.get('sent', BOB, row.id)).toMatchObject({ state: 'completed', result: '42' })
    expect(events).toHaveBeenCalledTimes(2)
  })

  it('the same msgId again is a duplicate, with no event', () => {
    const row = delivered()
    const msg = updateMsg(row.id, TaskMessage.State.WORKING, { result: 'first' })
    expect(tasks.receiveNotice(BOB, msg).status).toBe('stored')
    // a newer progress report, then the first one replayed
    tasks.receiveNotice(BOB, updateMsg(row.id, TaskMessage.State.WORKING, { result: 'second' }))
    expect(tasks.receiveNotice(BOB, msg)).toEqual({ status: 'duplicate' })
    expect(tasks.get('sent', BOB, row.id)!.result).toBe('second')
    expect(events).toHaveBeenCalledTimes(2)
  })

  it('an older state after a newer one does not move the task back', () => {
    const row = delivered()
    expect(
      tasks.receiveNotice(BOB, updateMsg(row.id, TaskMessage.State.COMPLETED, { result: 'r' })).status,
    ).toBe('stored')
    const late = tasks.receiveNotice(BOB, updateMsg(row.id, TaskMessage.State.WORKING, { result: 'late' }))
    expect(late).toEqual({ status: 'duplicate' })
    expect(tasks.get('sent', BOB, row.id)).toMatchObject({ state: 'completed', result: 'r' })
    expect(events).toHaveBeenCalledTimes(1)
  })

  it('rejects an UPDATE for an unknown task, and one from a peer that is not the assignee', () => {
    const row = delivered()
    const unknown = tasks.receiveNotice(BOB, updateMsg('no-such-task', TaskMessage.State.COMPLETED))
    expect(unknown.status).toBe('rejected')
    const wrongPeer = tasks.receiveNotice(CAROL, updateMsg(row.id, TaskMessage.State.COMPLETED))
    expect(wrongPeer.status).toBe('rejected')
    expect(tasks.get('sent', BOB, row.id)!.state).toBe('delivered')
    expect(events).not.toHaveBeenCalled()
  })

  it('rejects an UPDATE without a state it can apply', () => {
    const row = delivered()
    const res = tasks.receiveNotice(BOB, updateMsg(row.id, TaskMessage.State.UNSPECIFIED))
    expect(res.status).toBe('rejected')
    expect(tasks.get('sent', BOB, row.id)!.state).toBe('delivered')
  })

  it('an UPDATE while the task is still submitted (ack lost) also drops the pending DELEGATE', () => {
    const row = delegate()
    const other = delegate()
    expect(tasks.outboxSize()).toBe(2)
    const res = tasks.receiveNotice(BOB, updateMsg(row.id, TaskMessage.State.WORKING))
    expect(res.status).toBe('stored')
    expect(tasks.get('sent', BOB, row.id)!.state).toBe('working')
    expect(outbox().map(({ row: o }) => o.taskId)).toEqual([other.id])
  })

  it('a CANCEL from the delegator cancels a received task and emits a task_update', () => {
    const row = received()
    now += 3
    const res = tasks.receiveNotice(BOB, cancelMsg(row.id, 'changed my mind'))
    expect(res.status).toBe('stored')
    const after = tasks.get('received', BOB, row.id)
    expect(after).toMatchObject({ state: 'canceled', reason: 'changed my mind', updatedAt: T0 + 3 })
    expect(events).toHaveBeenCalledTimes(1)
    expect(events).toHaveBeenCalledWith({ type: 'task_update', row: after })
    expect(tasks.openCount()).toBe(0)
  })

  it('a CANCEL from another peer, or for a task already answered, changes nothing', () => {
    const row = received()
    expect(tasks.receiveNotice(CAROL, cancelMsg(row.id)).status).toBe('rejected')
    tasks.respond(tasks.get('received', BOB, row.id)!, 'completed', 'done')
    expect(tasks.receiveNotice(BOB, cancelMsg(row.id)).status).toBe('duplicate')
    expect(tasks.get('received', BOB, row.id)).toMatchObject({ state: 'completed', result: 'done' })
    expect(events).not.toHaveBeenCalled()
  })
})

describe('cancel', () => {
  it('an undelivered task: its DELEGATE leaves the outbox and no CANCEL is queued', () => {
    const row = delegate()
    now += 2
    const after = tasks.cancel(row, 'wrong agent')
    expect(after).toMatchObject({ state: 'canceled', reason: 'wrong agent', updatedAt: T0 + 2 })
    expect(tasks.get('sent', BOB, row.id)).toEqual(after)
    expect(tasks.outboxSize()).toBe(0)
    expect(events).not.toHaveBeenCalled()
  })

  it('a delivered task: a CANCEL is queued', () => {
    const row = delivered()
    tasks.cancel(row, 'too late')
    expect(tasks.get('sent', BOB, row.id)!.state).toBe('canceled')
    const out = outbox()
    expect(out).toHaveLength(1)
    expect(out[0]!.row).toMatchObject({ kind: TaskMessage.Kind.CANCEL, peer: BOB, taskId: row.id })
    expect(out[0]!.msg).toMatchObject({ kind: TaskMessage.Kind.CANCEL, taskId: row.id, reason: 'too late' })
  })

  it('a task canceled while its DELEGATE was in flight gets a CANCEL once the DELEGATE is acked', () => {
    const row = delegate()
    const [inFlight] = tasks.due(10)
    tasks.cancel(row, 'oops')
    expect(tasks.outboxSize()).toBe(0)
    // the send that was already under way succeeds: the peer has the task now
    expect(tasks.acked(inFlight!)).toBeUndefined()
    expect(tasks.get('sent', BOB, row.id)).toMatchObject({ state: 'canceled', reason: 'oops' })
    const out = outbox()
    expect(out.map(({ msg }) => [msg.kind, msg.taskId, msg.reason])).toEqual([
      [TaskMessage.Kind.CANCEL, row.id, 'oops'],
    ])
  })

  it('cancel of a final task: final', () => {
    const row = delivered()
    tasks.receiveNotice(BOB, updateMsg(row.id, TaskMessage.State.COMPLETED, { result: 'done' }))
    const done = tasks.get('sent', BOB, row.id)!
    expect(codeOf(() => tasks.cancel(done, null))).toBe('final')
    // a stale copy of the row does not get around it either
    expect(codeOf(() => tasks.cancel(row, null))).toBe('final')
    expect(tasks.get('sent', BOB, row.id)).toMatchObject({ state: 'completed', result: 'done' })
    expect(tasks.outboxSize()).toBe(0)
  })

  it('cancel of a received task: not_yours', () => {
    const row = received()
    expect(codeOf(() => tasks.cancel(row, null))).toBe('not_yours')
    expect(tasks.get('received', BOB, row.id)!.state).toBe('delivered')
  })
})

describe('expire', () => {
  it('an undelivered task past its TTL becomes expired with a reason and an event', () => {
    const row = delegate()
    const [msg] = tasks.due(10)
    tasks.retryLater(msg!, T0 + 1000, 'connection refused')
    now = T0 + HOUR - 1
    expect(tasks.expire()).toEqual([])
    expect(tasks.get('sent', BOB, row.id)!.state).toBe('submitted')
    now = T0 + HOUR
    const out = tasks.expire()
    expect(out).toHaveLength(1)
    expect(out[0]!.msg).toMatchObject({ kind: TaskMessage.Kind.DELEGATE, taskId: row.id })
    const after = tasks.get('sent', BOB, row.id)!
    expect(after.state).toBe('expired')
    expect(after.reason).toMatch(/TTL/)
    expect(after.reason).toMatch(/connection refused/)
    expect(out[0]!.row).toEqual(after)
    expect(events).toHaveBeenCalledTimes(1)
    expect(events).toHaveBeenCalledWith({ type: 'task_update', row: after })
    expect(tasks.outboxSize()).toBe(0)
    expect(tasks.expire()).toEqual([])
  })

  it('gives a reason even when no attempt failed yet', () => {
    const row = delegate()
    now = T0 + HOUR + 1
    tasks.expire()
    expect(tasks.get('sent', BOB, row.id)!.reason).toMatch(/could not be reached/)
  })

  it('drops an expired UPDATE and returns it without a row', () => {
    const row = tasks.respond(received(), 'completed', 'done')
    now = T0 + NOTICE_TTL
    const out = tasks.expire()
    expect(out).toHaveLength(1)
    expect(out[0]!.msg).toMatchObject({ kind: TaskMessage.Kind.UPDATE, taskId: row.id, peer: BOB })
    expect(out[0]!.row).toBeUndefined()
    expect(tasks.get('received', BOB, row.id)!.state).toBe('completed')
    expect(tasks.outboxSize()).toBe(0)
    expect(events).not.toHaveBeenCalled()
  })

  it('forgets seen message ids after the retention period', () => {
    const row = delivered()
    tasks.receiveNotice(BOB, updateMsg(row.id, TaskMessage.State.WORKING))
    const seen = () =>
      Number((store.db.prepare('SELECT count(*) AS n FROM seen_messages').get() as { n: number }).n)
    expect(seen()).toBe(1)
    now = T0 + SEEN_RETENTION - 1
    tasks.expire()
    expect(seen()).toBe(1)
    now = T0 + SEEN_RETENTION + 1
    tasks.expire()
    expect(seen()).toBe(0)
  })
})

describe('retryLater and kick', () => {
  it('retryLater moves next_at and counts the attempt; kick makes it due again', () => {
    const row = delegate()
    const [msg] = tasks.due(10)
    tasks.retryLater(msg!, T0 + 5000, 'dial failed')
    expect(tasks.due(10)).toEqual([])
    expect(tasks.nextDue()).toBe(T0 + 5000)
    now = T0 + 1000
    expect(tasks.kick(CAROL)).toBe(0)
    expect(tasks.due(10)).toEqual([])
    expect(tasks.kick(BOB)).toBe(1)
    const due = tasks.due(10)
    expect(due).toHaveLength(1)
    expect(due[0]).toMatchObject({ taskId: row.id, attempts: 1, nextAt: T0 + 1000 })
    expect(tasks.nextDue()).toBe(T0 + 1000)
    // already due: nothing to kick
    expect(tasks.kick(BOB)).toBe(0)
  })

  it('becomes due by itself when next_at arrives', () => {
    delegate()
    const [msg] = tasks.due(10)
    tasks.retryLater(msg!, T0 + 5000, 'x')
    now = T0 + 4999
    expect(tasks.due(10)).toEqual([])
    now = T0 + 5000
    expect(tasks.due(10)).toHaveLength(1)
  })

  it('nextDue is the earliest next_at; due honours the limit, oldest first', () => {
    expect(tasks.nextDue()).toBeUndefined()
    const a = delegate()
    now += 1
    const b = delegate()
    now += 1
    const c = delegate()
    const due = tasks.due(10)
    expect(due.map((m) => m.taskId)).toEqual([a.id, b.id, c.id])
    expect(tasks.due(2).map((m) => m.taskId)).toEqual([a.id, b.id])
    tasks.retryLater(due[0]!, T0 + 900, 'x')
    tasks.retryLater(due[1]!, T0 + 700, 'x')
    tasks.retryLater(due[2]!, T0 + 800, 'x')
    expect(tasks.nextDue()).toBe(T0 + 700)
  })
})

describe('taskJson', () => {
  it('parses the context and puts this agent on the right side', () => {
    const self = { id: 'peer-self', name: 'me' }
    const sent = taskJson(delegate(), self)
    expect(sent).toMatchObject({
      direction: 'sent',
      from: { id: 'peer-self', name: 'me' },
      to: { id: BOB, name: 'bob' },
      context: { pr: 42 },
      createdAt: new Date(T0).toISOString(),
    })
    const got = taskJson(received(), self)
    expect(got).toMatchObject({ from: { id: BOB, name: 'bob' }, to: { id: 'peer-self', name: 'me' } })
    expect(taskJson(received({ context: '' }), self).context).toBeNull()
  })
})

describe('durability', () => {
  it('tasks, the outbox and seen ids survive closing and reopening the database', () => {
    const sent = delegate()
    const [delegateRow] = tasks.due(10)
    const got = received()
    tasks.respond(got, 'working', 'busy')
    const answered = delivered()
    const update = updateMsg(answered.id, TaskMessage.State.WORKING)
    tasks.receiveNotice(BOB, update)
    store.close()

    const again = open()
    expect(again.tasks.get('sent', BOB, sent.id)).toEqual(sent)
    expect(again.tasks.get('received', BOB, got.id)).toMatchObject({ state: 'working', result: 'busy' })
    const due = again.tasks.due(10)
    expect(due).toHaveLength(2)
    expect(due.find((m) => m.kind === TaskMessage.Kind.DELEGATE)).toEqual(delegateRow)
    const pendingUpdate = due.find((m) => m.kind === TaskMessage.Kind.UPDATE)!
    expect(TaskMessage.decode(pendingUpdate.payload)).toMatchObject({ taskId: got.id, result: 'busy' })
    events.mockClear()
    expect(again.tasks.receiveNotice(BOB, update)).toEqual({ status: 'duplicate' })
    expect(again.tasks.receiveDelegate(BOB, 'bob', delegateMsg({ taskId: got.id }), 10)).toEqual({
      status: 'duplicate',
    })
    expect(events).not.toHaveBeenCalled()
  })

  it('a failing event handler rolls the whole change back', () => {
    const failing = new TaskStore({
      db: store.db,
      onEvent: () => {
        throw new Error('inbox broken')
      },
      now: () => now,
    })
    const msg = delegateMsg()
    expect(() => failing.receiveDelegate(BOB, 'bob', msg, 10)).toThrow('inbox broken')
    expect(tasks.get('received', BOB, msg.taskId)).toBeUndefined()
    // not remembered either: the retry is stored
    expect(tasks.receiveDelegate(BOB, 'bob', msg, 10).status).toBe('stored')
  })
})
