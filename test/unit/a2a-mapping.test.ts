// The state mapping of the A2A bridge (docs/a2a.md): every mesh state has its A2A state, `expired`
// becomes failed with the reason, a result becomes an artifact and the status message.
import { TaskState } from '@a2a-js/sdk'
import { describe, expect, it } from 'vitest'
import { messageText, STATE_MAP, taskOf } from '../../src/a2a/mapping.js'
import { TASK_STATES, type TaskRow } from '../../src/protocols/tasks/index.js'

const row = (over: Partial<TaskRow>): TaskRow => ({
  id: 'task-0001',
  direction: 'sent',
  peer: 'peer',
  peerName: 'bob',
  task: 'do it',
  context: null,
  priority: 'normal',
  state: 'submitted',
  result: null,
  reason: null,
  createdAt: 1,
  updatedAt: 2,
  expiresAt: 3,
  ...over,
})

describe('a2a mapping', () => {
  it('maps every mesh state', () => {
    expect(Object.keys(STATE_MAP).sort()).toEqual([...TASK_STATES].sort())
    expect(STATE_MAP).toEqual({
      submitted: TaskState.TASK_STATE_SUBMITTED,
      delivered: TaskState.TASK_STATE_SUBMITTED,
      working: TaskState.TASK_STATE_WORKING,
      'input-required': TaskState.TASK_STATE_INPUT_REQUIRED,
      completed: TaskState.TASK_STATE_COMPLETED,
      failed: TaskState.TASK_STATE_FAILED,
      canceled: TaskState.TASK_STATE_CANCELED,
      rejected: TaskState.TASK_STATE_REJECTED,
      expired: TaskState.TASK_STATE_FAILED,
    })
  })

  it('an expired task is failed, with the reason in its status message', () => {
    const t = taskOf(
      row({ state: 'expired', reason: 'not delivered before its TTL ran out (no route)' }),
      'ctx',
    )
    expect(t.status?.state).toBe(TaskState.TASK_STATE_FAILED)
    expect(t.status?.message?.parts[0]?.content).toEqual({
      $case: 'text',
      value: 'expired: not delivered before its TTL ran out (no route)',
    })
    expect(t.metadata?.clawlink.state).toBe('expired')
    expect(t.artifacts).toEqual([])
  })

  it('a rejected task keeps the reason; a completed one has its result as an artifact', () => {
    const r = taskOf(row({ state: 'rejected', result: 'not my job' }), 'ctx')
    expect(r.status?.state).toBe(TaskState.TASK_STATE_REJECTED)
    expect(r.status?.message?.parts[0]?.content).toEqual({ $case: 'text', value: 'not my job' })
    const c = taskOf(row({ state: 'completed', result: 'done' }), 'ctx')
    expect(c.artifacts[0]?.parts[0]?.content).toEqual({ $case: 'text', value: 'done' })
    expect(c.history[0]?.parts[0]?.content).toEqual({ $case: 'text', value: 'do it' })
  })

  it('a message becomes the task text: text parts, then data parts as JSON', () => {
    const part = (content: unknown) => ({ content, mediaType: '', filename: '', metadata: {} }) as never
    const text = messageText({
      messageId: 'm',
      contextId: '',
      taskId: '',
      role: 1,
      parts: [part({ $case: 'text', value: 'review' }), part({ $case: 'data', value: { pr: 42 } })],
      metadata: {},
      extensions: [],
      referenceTaskIds: [],
    })
    expect(text).toBe('review\n{"pr":42}')
  })
})
