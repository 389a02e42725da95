// /respond's `to_agent`: in v1 it named the agent the response was queued for (normally the
// delegator). Here the delegator always gets the answer (through the task, which records who
// delegated it, so a caller cannot take an answer away from it); when `to_agent` names another v1
// agent, that agent gets a copy as a `task_response` with the task's message_id. See
// docs/v1-compat.md, "Where a response goes".
import type { V1Context } from './routes.js'
import { shortId, type V1Message } from './store.js'

export interface Answered {
  taskId: string
  responseId: string
  fromAgent: string
  result: string
  v1Status: string
  /** who delegated the task: its v1 agent (if one did) and node */
  delegator: { agent?: string; peer: string }
}

/** The response as the named agent's poll shows it (the same shape the delegator gets). */
export function copyMessage(ctx: V1Context, a: Answered, toAgent: string): V1Message {
  return {
    type: 'task_response',
    message_id: shortId(a.taskId),
    task_id: a.taskId,
    response_id: a.responseId,
    from_agent: a.fromAgent,
    from_node: ctx.node.peerId.toString(),
    to_agent: toAgent,
    result: a.result,
    status: a.v1Status,
    timestamp: new Date().toISOString(),
  }
}

function isDelegator(ctx: V1Context, to: string, d: Answered['delegator']): boolean {
  if (d.agent != null) return to === d.agent
  // a mesh agent delegated: v1 clients saw its PeerId as from_agent
  return to === d.peer || ctx.node.nameOf(d.peer) === to
}

/**
 * Hands the named agent its copy, once the delegator's answer is stored; returns the extra fields
 * of the reply (`copied_to`, or a `hint` for an agent this node does not know).
 */
export function copyToNamed(
  ctx: V1Context,
  toAgent: string | undefined,
  a: Answered,
): Record<string, unknown> {
  if (toAgent == null || isDelegator(ctx, toAgent, a.delegator)) return {}
  const { store } = ctx
  if (store.has(toAgent)) {
    store.transaction(() => store.enqueue(toAgent, copyMessage(ctx, a, toAgent)))
    return { copied_to: toAgent }
  }
  const delegator = a.delegator.agent ?? a.delegator.peer
  // as v1 answered: 200, and a hint; the answer is not lost, the delegator has it
  return {
    hint: `to_agent ${toAgent} is not a v1 agent known to this node: the response went to the delegator ${delegator} only`,
  }
}
