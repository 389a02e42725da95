// Local tasks (protocols/tasks/local-tasks.ts): a task this node's agent hands to an agent hosted by
// this node itself. No outbox message ever; the hosted agent gets it in the same transaction.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { TaskError } from '../../src/protocols/tasks/errors.js'
import { answerLocal, cancelLocal, delegateLocal } from '../../src/protocols/tasks/local-tasks.js'
import { type TaskEvent, type TaskRow, TaskStore } from '../../src/protocols/tasks/task-store.js'
import { Store } from '../../src/store/database.js'
import { transaction } from '../../src/store/transaction.js'

const SELF = 'peer-self'

let dir: string
let store: Store
let events: ReturnType<typeof vi.fn<(event: TaskEvent) => void>>
let tasks: TaskStore

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawlink-localtasks-'))
  store = new Store(join(dir, 'store.db'))
  events = vi.fn<(event: TaskEvent) => void>()
  tasks = new TaskStore({ db: store.db, onEvent: events })
})

afterEach(() => {
  store.close()
  rmSync(dir, { recursive: true, force: true })
})

const input = {
  peer: SELF,
  peerName: 'me',
  toAgent: 'xagent01',
  task: 'review',
  context: null,
  priority: 'normal' as const,
  ttl: 60_000,
}
/** as Tasks runs them: inside a transaction the store joins */
const tx = <T>(fn: () => T): T => transaction(store.db, () => tasks.joining(fn))

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    if (err instanceof TaskError) return err.code
    throw err
  }
  return undefined
}

describe('local tasks', () => {
  it('stores the task delivered, hands it over in the transaction, and queues no message', () => {
    const handed: TaskRow[] = []
    const row = tx(() =>
      delegateLocal(tasks, input, (r) => {
        handed.push(r)
        return true
      }),
    )
    expect(row).toMatchObject({ direction: 'sent', peer: SELF, toAgent: 'xagent01', state: 'delivered' })
    expect(handed.map((r) => r.id)).toEqual([row.id])
    expect(tasks.outboxSize()).toBe(0)
    expect(events).not.toHaveBeenCalled()
  })

  it('stores nothing when no hosted agent takes it', () => {
    expect(codeOf(() => tx(() => delegateLocal(tasks, input, () => false)))).toBe('not_found')
    expect(tasks.list()).toEqual([])
  })

  it("turns the hosted agent's answer into a task_update for this node's agent, once", () => {
    const row = tx(() => delegateLocal(tasks, input, () => true))
    const working = tx(() => answerLocal(tasks, row, 'working', 'half', null))
    expect(working.state).toBe('working')
    const done = tx(() => answerLocal(tasks, row, 'completed', 'all good', 'v1:done'))
    expect(done).toMatchObject({ state: 'completed', result: 'all good', reason: 'v1:done' })
    expect(events.mock.calls.map(([e]) => [e.type, e.row.state])).toEqual([
      ['task_update', 'working'],
      ['task_update', 'completed'],
    ])
    expect(codeOf(() => tx(() => answerLocal(tasks, row, 'completed', 'again', null)))).toBe('final')
    expect(codeOf(() => tx(() => answerLocal(tasks, row, 'canceled' as never, '', null)))).toBe('invalid')
    expect(tasks.outboxSize()).toBe(0)
  })

  it('hands a cancel to the hosted agent; a canceled task takes no answer', () => {
    const row = tx(() => delegateLocal(tasks, input, () => true))
    const handed: TaskRow[] = []
    const canceled = tx(() =>
      cancelLocal(tasks, row, 'not needed', (r) => {
        handed.push(r)
        return true
      }),
    )
    expect(canceled).toMatchObject({ state: 'canceled', reason: 'not needed' })
    expect(handed.map((r) => r.state)).toEqual(['canceled'])
    expect(tasks.outboxSize()).toBe(0)
    expect(codeOf(() => tx(() => answerLocal(tasks, row, 'completed', 'late', null)))).toBe('final')
    expect(codeOf(() => tx(() => cancelLocal(tasks, row, null, () => true)))).toBe('final')
  })
})
