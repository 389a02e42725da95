// Task rows as the store keeps them, the mapping between stored and wire values, and the rules of
// the state machine (which states are final, and their order).

import { newId } from '../../rules/ids.js'
import { asBytes, text, textOrNull } from '../../store/sql-text.js'
import { TaskMessage } from './pb/task.js'
import { PRIORITIES, type Priority, type TaskState } from './types.js'

export const TERMINAL: ReadonlySet<TaskState> = new Set([
  'completed',
  'failed',
  'canceled',
  'rejected',
  'expired',
])
export const RANK: Record<TaskState, number> = {
  submitted: 0,
  delivered: 1,
  working: 2,
  // the same rank as working: a task goes back and forth between them (question, reply)
  'input-required': 2,
  completed: 3,
  failed: 3,
  canceled: 3,
  rejected: 3,
  expired: 3,
}

export const priorityToWire: Record<Priority, TaskMessage.Priority> = {
  low: TaskMessage.Priority.LOW,
  normal: TaskMessage.Priority.NORMAL,
  high: TaskMessage.Priority.HIGH,
  urgent: TaskMessage.Priority.URGENT,
}
export const priorityFromWire = (p: TaskMessage.Priority): Priority =>
  PRIORITIES.find((x) => priorityToWire[x] === p) ?? 'normal'

export const stateToWire: Partial<Record<TaskState, TaskMessage.State>> = {
  working: TaskMessage.State.WORKING,
  'input-required': TaskMessage.State.INPUT_REQUIRED,
  completed: TaskMessage.State.COMPLETED,
  failed: TaskMessage.State.FAILED,
  rejected: TaskMessage.State.REJECTED,
  canceled: TaskMessage.State.CANCELED,
}
/** What an assignee's response may set. */
export const RESPONSE_STATES: ReadonlySet<TaskState> = new Set([
  'working',
  'input-required',
  'completed',
  'failed',
  'rejected',
])
export const stateFromWire = (s: TaskMessage.State): TaskState | undefined =>
  (Object.keys(stateToWire) as TaskState[]).find((k) => stateToWire[k] === s)

export interface TaskRow {
  id: string
  direction: 'sent' | 'received'
  peer: string
  peerName: string
  task: string
  context: string | null
  priority: Priority
  state: TaskState
  result: string | null
  reason: string | null
  createdAt: number
  updatedAt: number
  expiresAt: number
  /** v1 HTTP API: the v1 agent that delegated the task and the one it is for (null: the node's agent) */
  fromAgent?: string | null
  toAgent?: string | null
}

/** A task this agent hands to `peer`: its text, JSON context, priority and TTL in ms. */
export interface DelegateInput {
  /** chosen by the delegator's agent (unique among its tasks); a random UUID if absent */
  id?: string
  peer: string
  peerName: string
  task: string
  context: string | null
  priority: Priority
  ttl: number
  /** v1 HTTP API: the delegating v1 agent, and the v1 agent of the receiving node it is for */
  fromAgent?: string
  toAgent?: string
  /** for `toAgent`, hosted by this node itself: stored `delivered` with no message (see local-tasks.ts) */
  local?: boolean
}

export interface OutboxRow {
  msgId: string
  peer: string
  kind: TaskMessage.Kind
  taskId: string
  payload: Uint8Array
  expiresAt: number
  attempts: number
  nextAt: number
}

/** What happened to a task, for the agent's inbox and the log. */
export interface TaskEvent {
  /** task_reply: the delegator's message on a task this agent received (see replies.ts) */
  type: 'task' | 'task_update' | 'task_reply'
  row: TaskRow
  /** task_reply: the message */
  text?: string
}

export type Row = Record<string, string | number | null | Uint8Array>

/** Every tasks column; the user's text read as bytes (see sql-text.ts). */
export const TASK_COLUMNS = `id, direction, peer, peer_name, ${asBytes('task', 'context', 'result', 'reason')}, priority,
  state, created_at, updated_at, expires_at, from_hosted_agent, to_hosted_agent`

export function toTask(r: Row): TaskRow {
  return {
    id: r.id as string,
    direction: r.direction as 'sent' | 'received',
    peer: r.peer as string,
    peerName: r.peer_name as string,
    task: text(r.task),
    context: textOrNull(r.context),
    priority: r.priority as Priority,
    state: r.state as TaskState,
    result: textOrNull(r.result),
    reason: textOrNull(r.reason),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    expiresAt: Number(r.expires_at),
    fromAgent: (r.from_hosted_agent as string | null) ?? null,
    toAgent: (r.to_hosted_agent as string | null) ?? null,
  }
}

/**
 * A task this agent delegates, as delegate() stores it: built rather than read back (the texts are
 * well-formed, since the control API refuses lone surrogates, so SQLite stores them unchanged).
 */
export function sentRow(id: string, input: DelegateInput, now: number, expiresAt: number): TaskRow {
  return {
    id,
    direction: 'sent',
    peer: input.peer,
    peerName: input.peerName,
    task: input.task,
    context: input.context,
    priority: input.priority,
    state: input.local === true ? 'delivered' : 'submitted',
    result: null,
    reason: null,
    createdAt: now,
    updatedAt: now,
    expiresAt,
    fromAgent: input.fromAgent ?? null,
    toAgent: input.toAgent ?? null,
  }
}

/** A row's values in the order of the task store's insertTask statement. */
export function insertValues(r: TaskRow): Array<string | number | null> {
  const { id, direction, peer, peerName, task, context, priority, state } = r
  return [
    id,
    direction,
    peer,
    peerName,
    task,
    context,
    priority,
    state,
    r.createdAt,
    r.updatedAt,
    r.expiresAt,
    r.fromAgent ?? null,
    r.toAgent ?? null,
  ]
}

export function toOutbox(r: Row): OutboxRow {
  return {
    msgId: r.msg_id as string,
    peer: r.peer as string,
    kind: r.kind as TaskMessage.Kind,
    taskId: r.task_id as string,
    payload: r.payload as Uint8Array,
    expiresAt: Number(r.expires_at),
    attempts: Number(r.attempts),
    nextAt: Number(r.next_at),
  }
}

export type ReceiveResult =
  | { status: 'stored'; row: TaskRow }
  | { status: 'duplicate' }
  | { status: 'rejected'; reason: string }

/** A task message of `kind` about `taskId`: a fresh msg_id, empty fields unless given in `fields`. */
export function message(
  kind: TaskMessage.Kind,
  taskId: string,
  priority: Priority,
  now: number,
  fields: Partial<TaskMessage>,
): TaskMessage {
  return {
    kind,
    msgId: newId(),
    taskId,
    task: '',
    context: '',
    priority: priorityToWire[priority],
    createdAt: BigInt(now),
    expiresAt: 0n,
    state: TaskMessage.State.UNSPECIFIED,
    result: '',
    reason: '',
    ...fields,
  }
}
