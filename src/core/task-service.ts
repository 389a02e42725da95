// The rules of tasks, whoever asks (control API, v1 API): how `to`/`cap` resolve to one peer, that a
// task id given again is the same request, who may answer or cancel a task, and what the agent's
// inbox gets for each task event. Size limits are the tasks protocol's (checked once, there).
import type {
  DelegateRequest as ApiDelegateRequest,
  PeerRef,
  Priority,
  TaskJson,
  TaskSentEventJson,
  TaskState,
} from '../api/types.js'
import { limits, TaskError, type TaskEvent, type TaskRow } from '../protocols/tasks/index.js'
import type { NodeContext } from './context.js'
import { ConflictError } from './errors.js'
import type { NewEvent } from './inbox.js'
import {
  type HostedCandidate,
  peersHosted,
  pickTarget,
  resolveAgent,
  resolveTarget,
} from './resolve-agent.js'
import { taskJson } from './task-json.js'

/** What a delegate asks for: the control API's request, without how long its caller waits. */
export type DelegateRequest = Omit<ApiDelegateRequest, 'wait'>

export class TaskService {
  constructor(private readonly node: NodeContext) {}

  /** Keeps the load on our card current; call before the network starts. */
  wire(): void {
    const { node } = this
    let load = node.taskStore.openCount()
    let queued = false
    const recount = () => {
      queued = false
      const now = node.taskStore.openCount()
      if (now !== load) {
        load = now
        node.presence.announceSoon()
      }
    }
    // the load counts received tasks only; one count per turn of changes, not one per change
    node.tasks.addEventListener('task:changed', ({ detail: row }) => {
      if (row.direction !== 'received' || queued) return
      queued = true
      queueMicrotask(recount)
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
    // `to` (or `cap`) may pick a hosted (v1) agent: of a peer (the task goes to that peer, for that
    // agent), or of this node (a local task, handed to the agent's queue: see local-tasks.ts)
    const self = node.peerId.toString()
    const hosted = this.hostedCandidates()
    const { peer, toAgent } =
      r.cap != null
        ? pickTarget(r.cap, node.presence.peers(), self, hosted)
        : resolveTarget(r.to!, node.presence.peers(), self, hosted)
    const input = {
      id: r.id,
      peer: peer.id,
      peerName: peer.name,
      toAgent,
      task: r.task,
      context: r.context ?? null,
      priority: r.priority ?? 'normal',
      ttl: r.ttl ?? limits.DEFAULT_TTL,
    }
    const row =
      peer.id === self
        ? await node.tasks.delegateLocal(input, (row) => node.mailbox.acceptLocal(row))
        : await node.tasks.delegate(input)
    // watchers (the dashboard) learn of it whichever client delegated; not logged, so no agent wakes
    node.watchHub.publish(this.sentJson(row))
    return row
  }

  /** The `task_sent` watch event of a task this node's agent just delegated. */
  private sentJson(row: TaskRow): TaskSentEventJson {
    const json = this.json(row)
    return {
      type: 'task_sent',
      id: json.id,
      from: json.from,
      to: json.to,
      task: json.task,
      context: json.context,
      priority: json.priority,
      state: json.state,
      ...(json.toAgent != null ? { toAgent: json.toAgent } : {}),
      timestamp: json.createdAt,
    }
  }

  /** The hosted agents of peers and of this node (its own listed as hosted by itself). */
  hostedCandidates(now = Date.now()): HostedCandidate[] {
    const { node } = this
    const { staleAfter } = node.options
    const self = { id: node.peerId.toString(), name: node.localCard().name }
    const own = node.mailbox.hostedAgents().map((a) => ({
      peer: self,
      agentId: a.agentId,
      name: a.name,
      caps: a.capabilities,
      online: now - a.lastHeartbeat <= staleAfter,
      lastHeartbeat: a.lastHeartbeat,
    }))
    return [...own, ...peersHosted(node.presence.peers(), node.presence.timings().staleAfter, now)]
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
   * Answers a task delegated to a hosted agent: over the mesh, or by this node's own agent (a local
   * task); only that agent may. Undefined when no such task has this id (the adapter may know it as
   * one between its own agents).
   */
  async respondFor(
    agent: string,
    id: string,
    state: TaskState,
    result: string,
    reason: string | null = null,
  ): Promise<TaskRow | undefined> {
    const self = this.node.peerId.toString()
    const rows = this.node.taskStore
      .find(id)
      .filter((t) => t.direction === 'received' || (t.direction === 'sent' && t.peer === self))
    if (rows.length === 0) return undefined
    const mine = rows.filter((t) => t.toAgent === agent)
    if (mine.length === 0) throw new TaskError('not_yours', `task ${id} was not delegated to ${agent}`)
    if (mine.length > 1) throw new TaskError('ambiguous', `several tasks have the id ${id}`)
    const row = mine[0]!
    return row.direction === 'sent'
      ? this.node.tasks.answerLocal(row, state, result, reason)
      : this.node.tasks.respond(row, state, result, reason)
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

  /** The delegator's message on a task this node's agent sent; `to` names the assignee when the id is not unique. */
  async reply(id: string, text: string, to?: string): Promise<TaskRow> {
    const { node } = this
    const all = node.taskStore.find(id)
    let sent = all.filter((t) => t.direction === 'sent')
    if (sent.length === 0 && all.length > 0)
      throw new TaskError('not_yours', `task ${id} was delegated to this agent; answer it with respond`)
    if (to != null) {
      sent = sent.filter(
        (t) => t.peer === to || t.peer.startsWith(to) || t.peerName === to || t.toAgent === to,
      )
      if (sent.length === 0) throw new TaskError('not_found', `no task ${id} delegated to ${to}`)
    }
    const row = oneTask(sent, id, 'delegated')
    // a local task: its hosted agent takes the reply in the same transaction, if it can
    if (row.peer === node.peerId.toString())
      return node.tasks.replyLocal(row, text, (r, t) => node.mailbox.acceptReply(r, t))
    return node.tasks.reply(row, text)
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
    const row = oneTask(sent, id, 'delegated')
    // a local task: its hosted agent is told in the same transaction (task_cancelled)
    if (row.peer === this.node.peerId.toString())
      return this.node.tasks.cancelLocal(row, reason, (r) => this.node.mailbox.acceptLocal(r))
    return this.node.tasks.cancel(row, reason)
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
      ...(event.type === 'task_reply' ? { message: event.text ?? '' } : {}),
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
