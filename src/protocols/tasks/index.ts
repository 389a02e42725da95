/**
 * @packageDocumentation
 *
 * The ClawLink tasks protocol, `/clawlink/task/2.0.0`: one long-lived channel (stream) per peer that
 * carries length-prefixed `TaskFrame`s in order, answered by `TaskAcks` that each cover every frame up to
 * a seq, written once the receiver's group commit holds them (or they were refused for good).
 */
import type { ComponentLogger, Libp2pEvents, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { GroupCommit } from '../../store/group-commit.js'
import type { TaskMessage } from './pb/task.js'
import type { TaskRow, TaskStore } from './task-store.js'
import { Tasks } from './tasks.js'

export * as limits from './constants.js'
export { InvalidTaskMessageError, TaskError } from './errors.js'
export { renameHostedAgent } from './hosted-rename.js'
export type { HandOver } from './local-tasks.js'
export { Refusal, TaskAcks, TaskFrame, TaskMessage } from './pb/task.js'
export { type OutboxRow, type TaskEvent, type TaskRow, TaskStore, TERMINAL } from './task-store.js'
export { Tasks } from './tasks.js'
export { PRIORITIES, type Priority, TASK_STATES, type TaskState } from './types.js'
export { isJson, taskSize } from './validate.js'

export interface TasksInit {
  store: TaskStore
  /** the group commit to share with the node's other writers; default: one of its own on the store's db */
  commits?: GroupCommit
  /** Bytes of task text plus context (and of a result); default 1 MiB. */
  maxTaskSize?: number
  /** Open incoming tasks per sender before new ones are rejected; default 1000. */
  maxPendingPerSender?: number
  /** Task messages accepted per peer per second (bursts of 5x); default 200. */
  peerMessageRate?: number
  /** The name a peer goes by, for stored tasks and events. */
  nameOf?: (peer: string) => string | undefined
  protocolPrefix?: string
  /** A delivery stream with nothing in flight is closed after this (ms); default 30 s. */
  channelIdle?: number
  /**
   * Called right before an ack goes out: false when the store the message was committed to is no longer
   * the one the node will open at its next start (its data dir removed, say). No ack goes out then, so
   * the sender keeps the message and sends it again later.
   */
  canAck?: () => boolean
}

export interface TasksComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

interface MessageInfo {
  peer: string
  taskId: string
  kind: TaskMessage.Kind
}

export interface TasksEvents {
  'task:received': CustomEvent<TaskRow>
  'task:updated': CustomEvent<TaskRow>
  /** the delegator's reply (a REPLY) arrived on a task this agent received */
  'task:replied': CustomEvent<TaskRow>
  'task:delivered': CustomEvent<TaskRow>
  'task:expired': CustomEvent<TaskRow>
  /** any state change of any task (for waiters and load) */
  'task:changed': CustomEvent<TaskRow>
  'message:acked': CustomEvent<MessageInfo>
  'message:refused': CustomEvent<MessageInfo & { reason: string }>
  'message:rejected': CustomEvent<MessageInfo & { reason: string }>
  'message:invalid': CustomEvent<{ peer: string; reason: string }>
  /** a peer went over its task message or byte rate; its messages get no ack until it slows down */
  'message:throttled': CustomEvent<{ peer: string }>
  'notice:dropped': CustomEvent<MessageInfo>
  /** a message could not be stored (disk full, a damaged store): no ack, so the sender retries */
  'store:failed': CustomEvent<MessageInfo & { error: Error }>
  'delivery:failed': CustomEvent<MessageInfo & { attempt: number; retryInMs: number; error: string }>
}

export function tasks(init: TasksInit): (components: TasksComponents) => Tasks {
  return (components) => new Tasks(components, init)
}
