// A mesh task as an A2A task: its state, its text as the user message, its result as an artifact and
// as the status message. The table in docs/a2a.md is this file, in words.
import type { Artifact, Message, Part, Task, TaskStatus } from '@a2a-js/sdk'
import { TaskState } from '@a2a-js/sdk'
import type { TaskRow } from '../protocols/tasks/index.js'

/** The A2A state of each mesh state. `expired` has no A2A twin: failed, with the reason in the status. */
export const STATE_MAP: Record<TaskRow['state'], TaskState> = {
  submitted: TaskState.TASK_STATE_SUBMITTED,
  // delivered: stored by the agent's node, not yet taken up by the agent
  delivered: TaskState.TASK_STATE_SUBMITTED,
  working: TaskState.TASK_STATE_WORKING,
  // the agent asked its delegator a question (the status message holds it)
  'input-required': TaskState.TASK_STATE_INPUT_REQUIRED,
  completed: TaskState.TASK_STATE_COMPLETED,
  failed: TaskState.TASK_STATE_FAILED,
  canceled: TaskState.TASK_STATE_CANCELED,
  rejected: TaskState.TASK_STATE_REJECTED,
  expired: TaskState.TASK_STATE_FAILED,
}

export const TERMINAL_A2A: ReadonlySet<TaskState> = new Set([
  TaskState.TASK_STATE_COMPLETED,
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_CANCELED,
  TaskState.TASK_STATE_REJECTED,
])

/** The artifact id of a task's result (one per task: a later answer replaces it). */
export const RESULT_ARTIFACT = 'result'

export function textPart(text: string): Part {
  return { content: { $case: 'text', value: text }, mediaType: 'text/plain', filename: '', metadata: {} }
}

function message(role: 'user' | 'agent', id: string, row: TaskRow, contextId: string, text: string): Message {
  return {
    messageId: id,
    contextId,
    taskId: row.id,
    role: role === 'user' ? 1 : 2,
    parts: [textPart(text)],
    metadata: {},
    extensions: [],
    referenceTaskIds: [],
  }
}

/** What the agent said last: its result, or why the task ended without one. */
function statusText(row: TaskRow): string | undefined {
  if (row.state === 'expired') return `expired: ${row.reason ?? 'not delivered before its TTL ran out'}`
  if (row.state === 'canceled') return row.reason != null ? `canceled: ${row.reason}` : 'canceled'
  if (row.result != null && row.result !== '') return row.result
  return row.reason ?? undefined
}

export function statusOf(row: TaskRow, contextId: string): TaskStatus {
  const text = statusText(row)
  return {
    state: STATE_MAP[row.state],
    // a stable id per state, so a client that sees the same status twice can tell
    message: text != null ? message('agent', `${row.id}-${row.state}`, row, contextId, text) : undefined,
    timestamp: new Date(row.updatedAt).toISOString(),
  }
}

export function resultArtifact(row: TaskRow): Artifact | undefined {
  if (row.result == null || row.result === '' || (row.state !== 'completed' && row.state !== 'working'))
    return undefined
  return {
    artifactId: RESULT_ARTIFACT,
    name: 'result',
    description: `the answer of ${row.toAgent ?? row.peerName}`,
    parts: [textPart(row.result)],
    metadata: {},
    extensions: [],
  }
}

/** The A2A task of a mesh task this bridge made. */
export function taskOf(row: TaskRow, contextId: string): Task {
  const artifact = resultArtifact(row)
  return {
    id: row.id,
    contextId,
    status: statusOf(row, contextId),
    artifacts: artifact != null ? [artifact] : [],
    history: [message('user', `${row.id}-request`, row, contextId, row.task)],
    metadata: {
      clawlink: { state: row.state, agent: row.toAgent ?? row.peerName, peer: row.peer, reason: row.reason },
    },
  }
}

/** The text a client sent: its text parts, then any data parts as JSON (the mesh carries text). */
export function messageText(msg: Message): string {
  const out: string[] = []
  for (const p of msg.parts) {
    const c = p.content
    if (c?.$case === 'text') out.push(c.value)
    else if (c?.$case === 'data') out.push(JSON.stringify(c.value))
    else if (c?.$case === 'url') out.push(c.value)
  }
  return out.join('\n')
}
