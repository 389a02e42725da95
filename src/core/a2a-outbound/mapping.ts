// How mesh tasks and A2A tasks translate (docs/a2a.md, "Outbound"): the message that carries a mesh
// task (and a reply) to the agent, and the mesh state and result an A2A task's status stands for.
import type { Message, Part, SendMessageRequest, Task } from '@a2a-js/sdk'
import { TaskState as A2aState, Role } from '@a2a-js/sdk'
import type { TaskState } from '../../api/types.js'

const textPart = (text: string): Part => ({
  content: { $case: 'text', value: text },
  metadata: undefined,
  filename: '',
  mediaType: 'text/plain',
})

/** A user message; on an A2A task already under way, `taskId`/`contextId` tie it to that task. */
export function userMessage(
  messageId: string,
  text: string,
  opts: { context?: unknown; taskId?: string; contextId?: string; from?: string } = {},
): SendMessageRequest {
  const parts = [textPart(text)]
  if (opts.context != null)
    parts.push({
      content: { $case: 'data', value: opts.context },
      metadata: undefined,
      filename: '',
      mediaType: 'application/json',
    })
  const message: Message = {
    messageId,
    contextId: opts.contextId ?? '',
    taskId: opts.taskId ?? '',
    role: Role.ROLE_USER,
    parts,
    metadata: opts.from != null ? { clawlinkFrom: opts.from } : undefined,
    extensions: [],
    referenceTaskIds: [],
  }
  // returnImmediately: the task is followed (stream or GetTask), not awaited in one long request
  return {
    tenant: '',
    message,
    configuration: {
      acceptedOutputModes: [],
      taskPushNotificationConfig: undefined,
      returnImmediately: true,
    },
    metadata: undefined,
  }
}

/** The text of parts: text as it is, data as JSON, files by name or URL. */
export function partsText(parts: Part[] | undefined): string {
  const out: string[] = []
  for (const p of parts ?? []) {
    const c = p.content
    if (c == null) continue
    if (c.$case === 'text') out.push(c.value)
    else if (c.$case === 'data') out.push(JSON.stringify(c.value))
    else if (c.$case === 'url') out.push(c.value)
    else out.push(`[${p.filename || 'file'}: ${p.mediaType || 'bytes'}]`)
  }
  return out.join('\n')
}

export interface MeshUpdate {
  state: TaskState
  result: string
  reason: string | null
  final: boolean
}

/** The mesh state an A2A task is in, with its result: the artifacts' text, else the status message's. */
export function meshUpdate(task: Task): MeshUpdate | undefined {
  const status = partsText(task.status?.message?.parts)
  const artifacts = task.artifacts.map((a) => partsText(a.parts)).filter((t) => t !== '')
  const result = artifacts.length > 0 ? artifacts.join('\n') : status
  switch (task.status?.state) {
    case A2aState.TASK_STATE_SUBMITTED:
    case A2aState.TASK_STATE_WORKING:
      return { state: 'working', result: status, reason: null, final: false }
    case A2aState.TASK_STATE_INPUT_REQUIRED:
      return { state: 'input-required', result: status, reason: null, final: false }
    case A2aState.TASK_STATE_AUTH_REQUIRED:
      return {
        state: 'input-required',
        result: status,
        reason: 'the A2A agent requires authentication',
        final: false,
      }
    case A2aState.TASK_STATE_COMPLETED:
      return { state: 'completed', result, reason: null, final: true }
    case A2aState.TASK_STATE_FAILED:
      return { state: 'failed', result, reason: status || null, final: true }
    case A2aState.TASK_STATE_REJECTED:
      return { state: 'rejected', result, reason: status || null, final: true }
    case A2aState.TASK_STATE_CANCELED:
      // an assignee cannot make a mesh task canceled (only its delegator can): it failed, and says why
      return { state: 'failed', result, reason: 'canceled by the A2A agent', final: true }
    default:
      return undefined
  }
}
