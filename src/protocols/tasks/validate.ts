// Checks on task messages from peers and on task input from the agent, before anything is stored.

import { MAX_CONTEXT_DEPTH } from '../../rules/limits.js'
import { MAX_ID_LENGTH, MAX_REASON_LENGTH } from './constants.js'
import { InvalidTaskMessageError } from './errors.js'
import { TaskMessage } from './pb/task.js'

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/
/** v1 agent ids on the wire: a v1 agent id (see presence) or a PeerId */
const AGENT_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/

export function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8')
}

/** Task text plus context, in bytes: what the size limit applies to. */
export function taskSize(task: string, context: string | null | undefined): number {
  return byteLength(task) + (context == null ? 0 : byteLength(context))
}

export function isJson(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

export { MAX_CONTEXT_DEPTH }

/** How deeply arrays and objects nest in `text`, which must be valid JSON (0 for a scalar). */
function jsonDepth(text: string): number {
  let depth = 0
  let max = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      // a backslash escapes the next character, a quote ends the string
      if (c === 0x5c) i++
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth)
    else if (c === 0x5d || c === 0x7d) depth--
  }
  return max
}

/** Why `text` cannot be a task's context (not JSON, or nested too deeply), or undefined if it can. */
export function contextError(text: string): string | undefined {
  if (!isJson(text)) return 'context is not valid JSON'
  if (jsonDepth(text) > MAX_CONTEXT_DEPTH) return `context nests deeper than ${MAX_CONTEXT_DEPTH} levels`
  return undefined
}

/** Throws InvalidTaskMessageError unless the message is well-formed for its kind. */
export function validateMessage(msg: TaskMessage, maxTaskSize: number): void {
  const fail = (why: string) => {
    throw new InvalidTaskMessageError(why)
  }
  for (const [field, value] of [
    ['msg_id', msg.msgId],
    ['task_id', msg.taskId],
  ] as const) {
    if (value.length === 0 || value.length > MAX_ID_LENGTH || !ID_RE.test(value)) fail(`invalid ${field}`)
  }
  if (byteLength(msg.reason) > MAX_REASON_LENGTH) fail('reason too long')
  if (msg.text != null && msg.kind !== TaskMessage.Kind.REPLY) fail('text on a message that is not a REPLY')
  for (const [field, value] of [
    ['from_hosted_agent', msg.fromHostedAgent],
    ['to_hosted_agent', msg.toHostedAgent],
  ] as const) {
    if (value == null) continue
    if (msg.kind !== TaskMessage.Kind.DELEGATE) fail(`${field} on a message that is not a DELEGATE`)
    if (value.length === 0 || value.length > MAX_ID_LENGTH || !AGENT_RE.test(value)) fail(`invalid ${field}`)
  }
  switch (msg.kind) {
    case TaskMessage.Kind.DELEGATE: {
      if (msg.task.trim() === '') fail('empty task')
      if (taskSize(msg.task, msg.context) > maxTaskSize) fail(`task and context over ${maxTaskSize} bytes`)
      const badContext = msg.context !== '' ? contextError(msg.context) : undefined
      if (badContext != null) fail(badContext)
      if (!Object.values(TaskMessage.Priority).includes(msg.priority)) fail('invalid priority')
      if (msg.expiresAt === 0n || msg.expiresAt > BigInt(Number.MAX_SAFE_INTEGER)) fail('invalid expiry')
      if (msg.createdAt > BigInt(Number.MAX_SAFE_INTEGER)) fail('invalid creation time')
      break
    }
    case TaskMessage.Kind.UPDATE: {
      const allowed = [
        TaskMessage.State.WORKING,
        TaskMessage.State.INPUT_REQUIRED,
        TaskMessage.State.COMPLETED,
        TaskMessage.State.FAILED,
        TaskMessage.State.REJECTED,
      ]
      if (!allowed.includes(msg.state)) fail('invalid state for an update')
      if (byteLength(msg.result) > maxTaskSize) fail(`result over ${maxTaskSize} bytes`)
      break
    }
    case TaskMessage.Kind.CANCEL:
      break
    case TaskMessage.Kind.REPLY:
      if (msg.text == null || msg.text.trim() === '') fail('empty reply')
      else if (byteLength(msg.text) > maxTaskSize) fail(`reply over ${maxTaskSize} bytes`)
      break
    default:
      fail('unknown message kind')
  }
}
