// Local tasks: ones this node's own agent delegates to an agent hosted by this same node (a v1 agent).
// The mesh cannot carry a message from a node to itself, so nothing goes to the outbox: the task is
// stored `delivered` and handed to the hosted agent's queue in the same transaction, the hosted agent's
// answers become task_update events as a peer's UPDATE would, and a cancel is handed to it likewise.
// Each function runs inside the transaction the caller has open (Tasks runs them in a group commit).
import { TaskError } from './errors.js'
import { type DelegateInput, RANK, RESPONSE_STATES, type TaskRow, TERMINAL } from './task-rows.js'
import type { TaskStore } from './task-store.js'
import type { TaskState } from './types.js'

/** Hands a local task (new, or canceled) to its hosted agent; false when no hosted agent took it. */
export type HandOver = (row: TaskRow) => boolean

export function delegateLocal(store: TaskStore, input: DelegateInput, hand: HandOver): TaskRow {
  const row = store.delegate({ ...input, local: true })
  // thrown inside the transaction: the task is not stored either
  if (!hand(row)) throw new TaskError('not_found', `no agent ${input.toAgent} is hosted by this node`)
  return row
}

/** The current stored row of a local task that is still open. */
function openRow(store: TaskStore, row: TaskRow): TaskRow {
  const current = store.get(row.direction, row.peer, row.id)
  if (current == null) throw new TaskError('not_found', `no task ${row.id}`)
  if (TERMINAL.has(current.state)) throw new TaskError('final', `task ${row.id} is already ${current.state}`)
  return current
}

/** The hosted agent answers: the delegator (this node's agent) gets it as a task_update event. */
export function answerLocal(
  store: TaskStore,
  row: TaskRow,
  state: TaskState,
  result: string,
  reason: string | null,
): TaskRow {
  if (!RESPONSE_STATES.has(state)) throw new TaskError('invalid', `a response cannot make a task ${state}`)
  const current = openRow(store, row)
  if (RANK[state] < RANK[current.state])
    throw new TaskError('invalid', `task ${row.id} is ${current.state}; it cannot go back to ${state}`)
  const updated = store.setState(current, state, result, reason)
  store.onEvent({ type: 'task_update', row: updated })
  return updated
}

/** This node's agent withdraws a local task: the hosted agent is told (its task_cancelled). */
export function cancelLocal(store: TaskStore, row: TaskRow, reason: string | null, hand: HandOver): TaskRow {
  const current = openRow(store, row)
  const updated = store.setState(current, 'canceled', current.result, reason)
  hand(updated)
  return updated
}
