// The tasks protocol's own vocabulary. The control API's JSON spells the same words (src/api), but the
// protocol does not depend on it: the presenter in the node maps one onto the other.

/**
 * A task's life: submitted -> delivered -> working -> one of the final states. `input-required`: the
 * assignee asked its delegator a question; a reply makes the task `working` again.
 */
export const TASK_STATES = [
  'submitted',
  'delivered',
  'working',
  'input-required',
  'completed',
  'failed',
  'canceled',
  'rejected',
  'expired',
] as const
export type TaskState = (typeof TASK_STATES)[number]

export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const
export type Priority = (typeof PRIORITIES)[number]
