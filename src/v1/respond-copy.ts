// /respond's `to_agent`: in v1 it named the agent the response was queued for (normally the
// delegator). Here the delegator always gets the answer (through the task, which records who
// delegated it, so a caller cannot take an answer away from it); when `to_agent` names another v1
// agent, that agent gets a copy as a `task_response` with the task's message_id: at once for an
// agent of this node, and for a peer's hosted agent through a mesh task (the carrier) that the
// peer's v1 API turns into that message. See docs/v1-compat.md, "Where a response goes".
import type { ClawLinkNode } from '../core/index.js'
import { TaskError, type TaskRow } from '../protocols/tasks/index.js'
import { remoteAgents } from './agents.js'
import { TASK_TTL } from './constants.js'
import type { V1Context } from './routes.js'
import { shortId, type V1Message, type V1Store } from './store.js'

/** The key of a carrier's context: `{"v1_response_copy": {message_id, task_id, response_id, status}}`. */
export const COPY_MARK = 'v1_response_copy'

interface Mark {
  message_id: string
  task_id: string
  response_id: string
  status: string
  /** the result when it is blank (a task's text may not be) */
  result?: string
}

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
 * of the reply (`copied_to`, or a `hint` for an agent this node does not know or cannot reach).
 */
export async function copyToNamed(
  ctx: V1Context,
  toAgent: string | undefined,
  a: Answered,
): Promise<Record<string, unknown>> {
  if (toAgent == null || isDelegator(ctx, toAgent, a.delegator)) return {}
  const { store, node } = ctx
  const delegator = a.delegator.agent ?? a.delegator.peer
  if (store.has(toAgent)) {
    store.transaction(() => store.enqueue(toAgent, copyMessage(ctx, a, toAgent)))
    return { copied_to: toAgent }
  }
  // a peer's hosted agent: one node serving it, else the one that is up (as /delegate picks)
  const serving = remoteAgents(node).filter((r) => r.agentId === toAgent)
  const pick = serving.length === 1 ? serving : serving.filter((r) => r.online)
  if (pick.length === 1) {
    const mark: Mark = {
      message_id: shortId(a.taskId),
      task_id: a.taskId,
      response_id: a.responseId,
      status: a.v1Status,
    }
    const blank = a.result.trim() === ''
    if (blank) mark.result = a.result
    try {
      await node.taskService.delegateFor({
        fromAgent: a.fromAgent,
        peer: { id: pick[0]!.peer, name: node.nameOf(pick[0]!.peer) ?? pick[0]!.peer.slice(0, 16) },
        toAgent,
        task: blank ? '(empty response)' : a.result,
        context: JSON.stringify({ [COPY_MARK]: mark }),
        priority: 'normal',
        ttl: TASK_TTL,
      })
    } catch (err) {
      if (!(err instanceof TaskError)) throw err
      return {
        hint: `the response went to the delegator ${delegator}; its copy for ${toAgent} could not be sent: ${err.message}`,
      }
    }
    return { copied_to: toAgent }
  }
  // as v1 answered: 200, and a hint; the answer is not lost, the delegator has it
  return {
    hint: `to_agent ${toAgent} is not a v1 agent known to this node: the response went to the delegator ${delegator} only`,
  }
}

function markOf(row: TaskRow): Mark | undefined {
  if (row.context == null || !row.context.includes(COPY_MARK)) return undefined
  try {
    const m = (JSON.parse(row.context) as Record<string, unknown>)[COPY_MARK] as Record<string, unknown>
    const str = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 128
    if (m == null || typeof m !== 'object') return undefined
    if (!str(m.message_id) || !str(m.task_id) || !str(m.response_id) || !str(m.status)) return undefined
    if (m.result != null && typeof m.result !== 'string') return undefined
    return m as unknown as Mark
  } catch {
    return undefined
  }
}

/** True for a carrier this node sent: its own news (receipt, completion, expiry) is nobody's. */
export function isSentCarrier(row: TaskRow): boolean {
  return row.direction === 'sent' && markOf(row) != null
}

/**
 * A carrier that arrived for `row.toAgent`, as the task_response it carries; undefined for any other
 * task. A copy that names a task the recipient delegated itself is not one (it would pose as the
 * answer to its own task): that task is handed over as the ordinary task it is.
 */
export function carriedResponse(node: ClawLinkNode, store: V1Store, row: TaskRow): V1Message | undefined {
  const mark = markOf(row)
  if (mark == null || row.toAgent == null) return undefined
  const to = row.toAgent
  if (mark.message_id !== shortId(mark.task_id)) return undefined
  for (const id of new Set([mark.task_id, store.taskIdOf(mark.message_id)])) {
    if (node.taskStore.find(id).some((t) => t.direction === 'sent' && t.fromAgent === to)) return undefined
    if (store.getLocalTask(id)?.fromAgent === to) return undefined
  }
  return {
    type: 'task_response',
    message_id: mark.message_id,
    task_id: mark.task_id,
    response_id: mark.response_id,
    from_agent: row.fromAgent ?? row.peer,
    from_node: row.peer,
    to_agent: to,
    result: mark.result ?? row.task,
    status: mark.status,
    timestamp: new Date(row.createdAt).toISOString(),
  }
}
