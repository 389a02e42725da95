// Replies: the delegator's messages on a task it sent, most often the answer to the assignee's question
// (the task is `input-required`). A REPLY travels like a response: in the outbox until acknowledged,
// deduplicated by message id at the receiver, and stored there with its inbox event (`task_reply`) in
// one transaction, so the assignee gets it exactly once; one channel per peer keeps them in order.
// Each function runs inside a transaction the caller has open (Tasks runs them in a group commit).
import { NOTICE_TTL } from './constants.js'
import { TaskError } from './errors.js'
import { TaskMessage } from './pb/task.js'
import { message, type ReceiveResult, type TaskRow, TERMINAL } from './task-rows.js'
import type { TaskStore } from './task-store.js'

/**
 * What a reply does to a task's state, at either end: a question answered makes it `working` again, and
 * its result (the question) is cleared, since it is no longer the task's latest word.
 */
export const afterReply = (row: TaskRow) => (row.state === 'input-required' ? 'working' : row.state)

/** The delegator's side: queues a REPLY on an open task it sent; the task becomes `working` if it was asking. */
export function reply(store: TaskStore, row: TaskRow, text: string): TaskRow {
  if (row.direction !== 'sent')
    throw new TaskError('not_yours', `task ${row.id} was delegated to this agent; answer it with respond`)
  const current = store.get(row.direction, row.peer, row.id)
  if (current == null) throw new TaskError('not_found', `no task ${row.id}`)
  if (TERMINAL.has(current.state)) throw new TaskError('final', `task ${row.id} is already ${current.state}`)
  const now = store.now()
  const msg = message(TaskMessage.Kind.REPLY, row.id, current.priority, now, { text })
  // behind the DELEGATE in the same peer's outbox when that is still queued: it cannot overtake it
  store.enqueue(row.peer, msg, now + NOTICE_TTL)
  const state = afterReply(current)
  return state === current.state ? current : store.setState(current, state, null, current.reason)
}

/**
 * A reply on a local task (for an agent hosted by this node itself, see local-tasks.ts): nothing goes
 * out; `hand` gives it to the hosted agent in the same transaction, or the reply fails.
 */
export function replyLocal(
  store: TaskStore,
  row: TaskRow,
  text: string,
  hand: (row: TaskRow, text: string) => boolean,
): TaskRow {
  const current = store.get(row.direction, row.peer, row.id)
  if (current == null) throw new TaskError('not_found', `no task ${row.id}`)
  if (TERMINAL.has(current.state)) throw new TaskError('final', `task ${row.id} is already ${current.state}`)
  const state = afterReply(current)
  const updated = state === current.state ? current : store.setState(current, state, null, current.reason)
  if (!hand(updated, text))
    throw new TaskError(
      'invalid',
      `the agent of task ${row.id} is hosted by this node and cannot take replies`,
    )
  return updated
}

/** The assignee's side: a REPLY from `peer`, stored with its `task_reply` event unless seen before. */
export function receiveReply(store: TaskStore, peer: string, msg: TaskMessage): ReceiveResult {
  const { stmt } = store
  if (stmt.seen!.get(peer, msg.msgId) != null) return { status: 'duplicate' }
  const row = store.get('received', peer, msg.taskId)
  if (row == null) return { status: 'rejected', reason: `no task ${msg.taskId} between us` }
  if (TERMINAL.has(row.state)) return { status: 'rejected', reason: `task ${row.id} is already ${row.state}` }
  stmt.markSeen!.run(peer, msg.msgId, store.now())
  const state = afterReply(row)
  const updated = state === row.state ? row : store.setState(row, state, null, row.reason)
  store.onEvent({ type: 'task_reply', row: updated, text: msg.text ?? '' })
  return { status: 'stored', row: updated }
}
