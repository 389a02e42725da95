// The outbound A2A bridge's rules without a network: how A2A task states map onto mesh states, and
// what a follower does with a task whose TTL ran out while the agent was unreachable, or whose agent
// was removed.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Task, TaskState } from '@a2a-js/sdk'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { A2aStore } from '../../src/core/a2a-outbound/a2a-store.js'
import { A2aBridgeError } from '../../src/core/a2a-outbound/errors.js'
import { type BridgeHost, Follower } from '../../src/core/a2a-outbound/follower.js'
import { type MeshUpdate, meshUpdate } from '../../src/core/a2a-outbound/mapping.js'
import type { TaskRow } from '../../src/protocols/tasks/index.js'
import { Store } from '../../src/store/database.js'

function task(state: TaskState, status = '', artifacts: string[] = []): Task {
  const part = (text: string) => ({
    content: { $case: 'text' as const, value: text },
    metadata: undefined,
    filename: '',
    mediaType: 'text/plain',
  })
  return {
    id: 't1',
    contextId: 'c1',
    status: {
      state,
      timestamp: undefined,
      message:
        status === ''
          ? undefined
          : {
              messageId: 'm',
              contextId: 'c1',
              taskId: 't1',
              role: 2,
              parts: [part(status)],
              metadata: undefined,
              extensions: [],
              referenceTaskIds: [],
            },
    },
    artifacts: artifacts.map((a, i) => ({
      artifactId: `a${i}`,
      name: '',
      description: '',
      parts: [part(a)],
      metadata: undefined,
      extensions: [],
    })),
    history: [],
    metadata: undefined,
  }
}

describe('A2A task states as mesh states', () => {
  it('maps every A2A state, with the result from the artifacts or the status message', () => {
    expect(meshUpdate(task(TaskState.TASK_STATE_SUBMITTED))).toMatchObject({ state: 'working', final: false })
    expect(meshUpdate(task(TaskState.TASK_STATE_WORKING, 'on it'))).toMatchObject({
      state: 'working',
      result: 'on it',
    })
    expect(meshUpdate(task(TaskState.TASK_STATE_INPUT_REQUIRED, 'which color?'))).toMatchObject({
      state: 'input-required',
      result: 'which color?',
      final: false,
    })
    expect(meshUpdate(task(TaskState.TASK_STATE_AUTH_REQUIRED, 'log in'))?.state).toBe('input-required')
    expect(meshUpdate(task(TaskState.TASK_STATE_COMPLETED, 'done', ['part 1', 'part 2']))).toEqual({
      state: 'completed',
      result: 'part 1\npart 2',
      reason: null,
      final: true,
    })
    expect(meshUpdate(task(TaskState.TASK_STATE_COMPLETED, 'only the status'))?.result).toBe(
      'only the status',
    )
    expect(meshUpdate(task(TaskState.TASK_STATE_FAILED, 'boom'))).toMatchObject({
      state: 'failed',
      reason: 'boom',
    })
    expect(meshUpdate(task(TaskState.TASK_STATE_REJECTED, 'no'))).toMatchObject({ state: 'rejected' })
    expect(meshUpdate(task(TaskState.TASK_STATE_CANCELED))).toMatchObject({
      state: 'failed',
      reason: 'canceled by the A2A agent',
    })
    expect(meshUpdate(task(TaskState.TASK_STATE_UNSPECIFIED))).toBeUndefined()
  })
})

describe('a follower', () => {
  let dir: string
  let store: Store
  let a2a: A2aStore
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'clawlink-a2a-'))
    store = new Store(join(dir, 'store.db'))
    a2a = new A2aStore(store.db)
  })
  afterEach(() => {
    store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const row: TaskRow = {
    id: 'task-1',
    direction: 'received',
    peer: 'peer-alice',
    peerName: 'alice',
    task: 'hello',
    context: null,
    priority: 'normal',
    state: 'delivered',
    result: null,
    reason: null,
    createdAt: 0,
    updatedAt: 0,
    expiresAt: 0,
    toAgent: 'helper',
  }

  function host(client: BridgeHost['client']): { host: BridgeHost; answers: MeshUpdate[] } {
    const answers: MeshUpdate[] = []
    return {
      answers,
      host: {
        store: a2a,
        row: () => row,
        answer: async (_job, u) => {
          answers.push(u)
        },
        client,
        write: (fn) => store.transaction(fn),
        emit: () => {},
      },
    }
  }

  it('fails a task whose TTL ran out before the agent could be reached, with the last error', async () => {
    store.transaction(() => a2a.addJob('peer-alice', 'task-1', 'helper', Date.now() - 1))
    const job = a2a.job('peer-alice', 'task-1')!
    store.transaction(() => a2a.recordError(job, 'connect ECONNREFUSED 127.0.0.1:9'))
    const { host: h, answers } = host(async () => ({ client: {} as never, streaming: false }))
    await new Follower(h, 'peer-alice', 'task-1').run()
    expect(answers).toEqual([
      {
        state: 'failed',
        result: '',
        reason:
          "not delivered to the A2A agent before the task's TTL ran out (connect ECONNREFUSED 127.0.0.1:9)",
        final: true,
      },
    ])
    expect(a2a.job('peer-alice', 'task-1')!.phase).toBe('done')
  })

  it('fails a task whose agent was removed', async () => {
    store.transaction(() => a2a.addJob('peer-alice', 'task-1', 'helper', Date.now() + 60_000))
    const { host: h, answers } = host(() =>
      Promise.reject(new A2aBridgeError('not_found', 'no A2A agent helper is registered here (removed)')),
    )
    await new Follower(h, 'peer-alice', 'task-1').run()
    expect(answers.map((a) => [a.state, a.reason])).toEqual([
      ['failed', 'no A2A agent helper is registered here (removed)'],
    ])
  })

  it('fails a followed task the agent no longer knows, rather than waiting forever', async () => {
    store.transaction(() => a2a.addJob('peer-alice', 'task-1', 'helper', Date.now() + 60_000))
    store.transaction(() => a2a.markSent(a2a.job('peer-alice', 'task-1')!, 'remote-1', 'ctx-1'))
    const client = { getTask: () => Promise.reject(new Error('Task not found: remote-1')) }
    const { host: h, answers } = host(async () => ({ client: client as never, streaming: false }))
    await new Follower(h, 'peer-alice', 'task-1').run()
    expect(answers.map((a) => [a.state, a.reason])).toEqual([
      ['failed', 'the A2A agent no longer knows its task remote-1: Task not found: remote-1'],
    ])
  })

  it('a task seen again (its DELEGATE retried) gets no second job; replies queue in order', () => {
    expect(store.transaction(() => a2a.addJob('peer-alice', 'task-1', 'helper', 1))).toBe(true)
    expect(store.transaction(() => a2a.addJob('peer-alice', 'task-1', 'helper', 1))).toBe(false)
    store.transaction(() => {
      a2a.addReply('peer-alice', 'task-1', 'first')
      a2a.addReply('peer-alice', 'task-1', 'second')
    })
    const job = a2a.job('peer-alice', 'task-1')!
    expect(a2a.replies(job).map((r) => r.text)).toEqual(['first', 'second'])
    store.transaction(() => a2a.setPhase(job, 'done'))
    expect(a2a.replies(job)).toEqual([])
  })
})
