// The rules of tasks, whoever asks (control API, v1 API): how `to`/`cap` resolve to one peer, that a
// task id given again is the same request, who may answer or cancel a task, and what the agent's
// inbox gets for each task event. Size limits are the tasks protocol's (checked once, there).
import type {
  DelegateRequest as ApiDelegateRequest,
  PeerRef,
  Priority,
  TaskJson,
  TaskState,
} from '../api/types.js'
import { limits, TaskError, type TaskEvent, type TaskRow } from '../protocols/tasks/index.js'
import type { NodeContext } from './context.js'
import { ConflictError } from './errors.js'
import type { NewEvent } from './inbox.js'
import { pickByCap, resolveAgent, resolveTarget, type Target } from './resolve-agent.js'
import { taskJson } from './task-json.js'

/** What a delegate asks for: the control API's request, without how long its caller waits. */
export type DelegateRequest = Omit<ApiDelegateRequest, 'wait'>

export class TaskService {
  constructor(private readonly node: NodeContext) {}

  /** Keeps the load on our card current; call before the network starts. */
  wire(): void {
    const { node } = this
    let load = node.taskStore.openCount()
    node.tasks.addEventListener('task:changed', () => {
      const now = node.taskStore.openCount()
      if (now !== load) {
        load = now
        node.presence.announceSoon()
      }
    })
  }

  /** A name, PeerId or PeerId prefix as one known peer (TaskError not_found/ambiguous/invalid). */
  resolve(query: string): PeerRef {
    return resolveAgent(query, this.node.presence.peers(), this.node.peerId.toString())
  }

  /** Delegates a task, or returns the task an earlier request with the same id made. */
  async delegate(r: DelegateRequest): Promise<TaskRow> {
    const { node } = this
    const earlier = r.id != null ? node.taskStore.find(r.id).find((t) => t.direction === 'sent') : undefined
    if (earlier != null) {
      if (earlier.task !== r.task) throw new ConflictError(`task id ${r.id} is already used by another task`)
      return earlier
    }
    // `to` may name a hosted (v1) agent of a peer: the task goes to that peer, for that agent
    const { peer, toAgent } =
      r.cap != null
        ? { peer: pickByCap(r.cap, node.presence.peers()), toAgent: undefined }
        : this.target(r.to!)
    return node.tasks.delegate({
      id: r.id,
      peer: peer.id,
      peerName: peer.name,
      toAgent,
      task: r.task,
      context: r.context ?? null,
      priority: r.priority ?? 'normal',
      ttl: r.ttl ?? limits.DEFAULT_TTL,
    })
  }

  /** A peer, or a hosted agent of a peer; a hosted agent of this node is refused with the reason. */
  private target(query: string): Target {
    const { node } = this
    try {
      return resolveTarget(query, node.presence.peers(), node.peerId.toString())
    } catch (err) {
      const own = node.announcedCard().hostedAgents?.agents ?? []
      if (
        err instanceof TaskError &&
        err.code === 'not_found' &&
        own.some((a) => a.agentId === query || a.name === query)
      )
        throw new TaskError(
          'invalid',
          `${query} is a v1 agent of this node: the mesh cannot carry a task from this node to itself (v1 agents of one node delegate to each other with POST /delegate)`,
        )
      throw err
    }
  }

  /** Delegates for a hosted agent, to a peer or to one of the agents that peer hosts. */
  delegateFor(r: {
    fromAgent: string
    peer: PeerRef
    toAgent?: string
    task: string
    context: string | null
    priority: Priority
    ttl: number
  }): Promise<TaskRow> {
    return this.node.tasks.delegate({
      peer: r.peer.id,
      peerName: r.peer.name,
      task: r.task,
      context: r.context,
      priority: r.priority,
      ttl: r.ttl,
      fromAgent: r.fromAgent,
      toAgent: r.toAgent,
    })
  }

  /**
   * Answers a task delegated over the mesh to a hosted agent; only that agent may. Undefined when no
   * task with this id came over the mesh (the adapter may know it as one between its own agents).
   */
  async respondFor(
    agent: string,
    id: string,
    state: TaskState,
    result: string,
    reason: string | null = null,
  ): Promise<TaskRow | undefined> {
    const received = this.node.taskStore.find(id).filter((t) => t.direction === 'received')
    if (received.length === 0) return undefined
    const mine = received.filter((t) => t.toAgent === agent)
    if (mine.length === 0) throw new TaskError('not_yours', `task ${id} was not delegated to ${agent}`)
    if (mine.length > 1) throw new TaskError('ambiguous', `several tasks have the id ${id}`)
    return this.node.tasks.respond(mine[0]!, state, result, reason)
  }

  /** Answers a task delegated to this node's agent; `to` names the delegator when the id is not unique. */
  async respond(id: string, state: TaskState, result: string, to?: string): Promise<TaskRow> {
    const { node } = this
    const all = node.taskStore.find(id)
    let received = all.filter((t) => t.direction === 'received')
    if (received.length === 0 && all.length > 0) {
      throw new TaskError(
        'not_yours',
        `task ${id} was delegated by this agent; only the agent it was sent to can respond`,
      )
    }
    if (to != null) {
      received = received.filter(
        (t) => t.peer === to || t.peer.startsWith(to) || t.peerName === to || node.nameOf(t.peer) === to,
      )
      if (received.length === 0) throw new TaskError('not_yours', `task ${id} was not delegated by ${to}`)
    }
    return node.tasks.respond(oneTask(received, id, 'received'), state, result)
  }

  /** Cancels a task this node's agent delegated. */
  async cancel(id: string, reason: string | null): Promise<TaskRow> {
    const all = this.node.taskStore.find(id)
    const sent = all.filter((t) => t.direction === 'sent')
    if (sent.length === 0 && all.length > 0) {
      throw new TaskError(
        'not_yours',
        `task ${id} was delegated to this agent; only its delegator can cancel it (to decline it, respond with status rejected)`,
      )
    }
    return this.node.tasks.cancel(oneTask(sent, id, 'delegated'), reason)
  }

  json(row: TaskRow): TaskJson {
    return taskJson(row, { id: this.node.peerId.toString(), name: this.node.localCard().name })
  }

  /** The inbox event of a task event for this node's own agent. */
  eventJson(event: TaskEvent): NewEvent {
    const { node } = this
    const json = this.json(event.row)
    return {
      type: event.type,
      id: json.id,
      from: { id: event.row.peer, name: node.nameOf(event.row.peer) ?? event.row.peerName },
      to: { id: node.peerId.toString(), name: node.localCard().name },
      task: json.task,
      context: json.context,
      priority: json.priority,
      state: json.state,
      result: json.result,
      reason: json.reason,
      timestamp: new Date().toISOString(),
    }
  }
}

/** The one task with this id among `rows`, or a clear error. */
function oneTask(rows: TaskRow[], id: string, what: string): TaskRow {
  if (rows.length === 1) return rows[0]!
  if (rows.length === 0) throw new TaskError('not_found', `no ${what} task ${id}`)
  throw new TaskError('ambiguous', `several ${what} tasks have the id ${id}; name the other agent in to`)
}
