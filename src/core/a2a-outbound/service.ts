// External A2A agents as members of the mesh (`clawlink a2a add NAME URL`): registered here, listed on
// this node's card as agents it hosts (with the skills of their A2A cards as caps), so every node's
// discover shows them and `delegate --to NAME` or `--cap SKILL` reaches them. Their tasks arrive as
// any hosted agent's do, through the mailbox inside the storing transaction, and one Follower per task
// carries each to the agent and its answers back (follower.ts).
import { AgentCard } from '@a2a-js/sdk'
import type { Client } from '@a2a-js/sdk/client'
import type { A2aAgentJson } from '../../api/a2a-outbound.js'
import type { TaskState } from '../../api/types.js'
import { HostedAgent, type HostedAgentList, limits } from '../../protocols/presence/index.js'
import type { TaskEvent, TaskRow } from '../../protocols/tasks/index.js'
import { validateName } from '../../rules/card.js'
import { transaction } from '../../store/transaction.js'
import type { NodeContext } from '../context.js'
import type { HostedAgentInfo } from '../mailbox.js'
import { clientFor, fetchCard } from './a2a-client.js'
import { type A2aAgentRow, type A2aJob, A2aStore } from './a2a-store.js'
import { A2aBridgeError } from './errors.js'
import { Follower } from './follower.js'

/** How a mesh task is answered as its assignee (TaskService.respondFor). */
export type RespondFor = (
  agent: string,
  id: string,
  state: TaskState,
  result: string,
  reason: string | null,
) => Promise<unknown>

/**
 * At most this many registered agents, in this many bytes, go on the card: its presence message has a
 * size limit (8 KiB), shared with the node's own fields and the v1 agents (at most 3 KiB).
 */
const MAX_ON_CARD = 8
const CARD_BUDGET = 2048
const MAX_AGENTS = 64
const ENV_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/
const CAP_RE = /^[A-Za-z0-9_][A-Za-z0-9._:/-]{0,63}$/

/** A registered agent's card, as stored (the proto JSON form). */
const cardOf = (a: A2aAgentRow): AgentCard => AgentCard.fromJSON(JSON.parse(a.card))

/** The skills of a card as caps: their ids (and tags) that make valid caps. */
function capsOf(card: AgentCard): string[] {
  const caps = card.skills.flatMap((s) => [s.id, ...s.tags]).filter((c) => CAP_RE.test(c))
  return [...new Set(caps)].slice(0, limits.MAX_HOSTED_AGENT_CAPS)
}

export class A2aOutbound {
  readonly store: A2aStore
  private readonly followers = new Map<string, Follower>()
  private readonly clients = new Map<string, Promise<{ client: Client; streaming: boolean }>>()
  private started = false

  constructor(
    private readonly node: NodeContext,
    private readonly respondFor: RespondFor,
  ) {
    this.store = new A2aStore(node.store.db)
  }

  /** Takes the tasks for the registered agents and lists them on the card; call before start. */
  wire(setHostedAgents: (list: () => HostedAgentList | undefined) => void): void {
    this.node.mailbox.register({
      agents: () => this.hostedAgents(),
      takeTask: (event) => this.onTaskEvent(event),
      acceptLocal: (task) => this.onLocalTask(task),
      acceptReply: (task, text) => this.onLocalReply(task, text),
    })
    setHostedAgents(() => this.cardAgents())
  }

  /** Resumes every open job (after a restart, where each one was). */
  start(): void {
    this.started = true
    for (const job of this.store.openJobs()) this.follow(job.peer, job.taskId)
  }

  stop(): void {
    this.started = false
    for (const f of this.followers.values()) f.stop()
    this.followers.clear()
  }

  list(): A2aAgentJson[] {
    return this.store.agents().map((a) => this.json(a))
  }

  async add(name: string, url: string, tokenEnv: string | null): Promise<A2aAgentJson> {
    try {
      validateName(name)
    } catch (err) {
      throw new A2aBridgeError('invalid', (err as Error).message)
    }
    if (name.length > limits.MAX_HOSTED_AGENT_ID_LENGTH)
      throw new A2aBridgeError('invalid', `the name is over ${limits.MAX_HOSTED_AGENT_ID_LENGTH} characters`)
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw new A2aBridgeError('invalid', `not a URL: ${JSON.stringify(url.slice(0, 200))}`)
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new A2aBridgeError('invalid', 'the URL must be http or https')
    if (tokenEnv != null && !ENV_RE.test(tokenEnv))
      throw new A2aBridgeError(
        'invalid',
        `not an environment variable name: ${JSON.stringify(tokenEnv.slice(0, 130))}`,
      )
    const existing = this.store.agent(name)
    if (existing != null) {
      if (existing.url === url && existing.tokenEnv === tokenEnv) return this.json(existing)
      throw new A2aBridgeError(
        'conflict',
        `an A2A agent named ${name} is already registered (remove it first)`,
      )
    }
    if (
      name === this.node.localCard().name ||
      this.node.mailbox.hostedAgents().some((a) => a.agentId === name)
    )
      throw new A2aBridgeError('conflict', `the name ${name} is taken by an agent of this node`)
    if (this.store.agents().length >= MAX_AGENTS)
      throw new A2aBridgeError('conflict', `at most ${MAX_AGENTS} A2A agents per node`)
    let card: AgentCard
    try {
      card = await fetchCard(url, tokenEnv)
    } catch (err) {
      throw new A2aBridgeError(
        'unreachable',
        `could not read the agent card at ${url}: ${(err as Error).message}`,
      )
    }
    const row: A2aAgentRow = {
      name,
      url,
      tokenEnv,
      card: JSON.stringify(AgentCard.toJSON(card)),
      addedAt: Date.now(),
    }
    transaction(this.store.db, () => this.store.addAgent(row))
    this.node.presence.announceSoon()
    const json = this.json(row)
    this.node.log.emit(
      'a2a_agent_added',
      { name, url, caps: json.caps, streaming: json.streaming },
      `A2A agent ${name} at ${url} joins the mesh through this node (${json.caps.length} skills)`,
    )
    return json
  }

  remove(name: string): { removed: string } {
    const gone = transaction(this.store.db, () => this.store.removeAgent(name))
    if (!gone) throw new A2aBridgeError('not_found', `no A2A agent ${name} is registered here`)
    this.clients.delete(name)
    this.node.presence.announceSoon()
    // its open tasks fail now, with the reason
    for (const job of this.store.openJobs()) if (job.agent === name) this.followers.get(this.key(job))?.kick()
    this.node.log.emit('a2a_agent_removed', { name }, `A2A agent ${name} removed`)
    return { removed: name }
  }

  private json(a: A2aAgentRow): A2aAgentJson {
    const card = cardOf(a)
    return {
      name: a.name,
      url: a.url,
      tokenEnv: a.tokenEnv,
      agentName: card.name,
      description: card.description,
      caps: capsOf(card),
      streaming: card.capabilities?.streaming === true,
      addedAt: new Date(a.addedAt).toISOString(),
    }
  }

  private hostedAgents(): HostedAgentInfo[] {
    const now = Date.now()
    return this.store.agents().map((a) => {
      const card = cardOf(a)
      return {
        agentId: a.name,
        name: a.name,
        capabilities: capsOf(card),
        description: card.description.slice(0, limits.MAX_HOSTED_AGENT_DESCRIPTION_LENGTH),
        machine: '',
        // the bridge answers for it: its tasks wait here while it is down
        lastHeartbeat: now,
      }
    })
  }

  private cardAgents(): HostedAgentList | undefined {
    const agents: HostedAgent[] = []
    let bytes = 0
    for (const a of this.hostedAgents().slice(0, MAX_ON_CARD)) {
      const entry: HostedAgent = { ...a, description: a.description.slice(0, 120), heartbeatAge: 0 }
      bytes += HostedAgent.encode(entry).byteLength + 4
      if (bytes > CARD_BUDGET) break
      agents.push(entry)
    }
    return agents.length === 0 ? undefined : { agents }
  }

  /** A task event (inside the storing transaction): true when it is one of ours. */
  private onTaskEvent(event: TaskEvent): boolean {
    const { row } = event
    if (row.direction !== 'received' || row.toAgent == null) return false
    if (event.type === 'task') {
      if (this.store.agent(row.toAgent) == null) return false
      this.store.addJob(row.peer, row.id, row.toAgent, row.expiresAt)
    } else {
      const job = this.store.job(row.peer, row.id)
      if (job == null) return false
      if (event.type === 'task_reply') this.store.addReply(row.peer, row.id, event.text ?? '')
      else if (row.state === 'canceled' && job.phase !== 'done') this.store.setPhase(job, 'cancel')
    }
    this.node.store.afterCommit(() => this.follow(row.peer, row.id))
    return true
  }

  /** This node's own agent delegated to (or canceled a task of) one of ours: inside the transaction. */
  private onLocalTask(row: TaskRow): boolean {
    if (row.toAgent == null || this.store.agent(row.toAgent) == null) return false
    const job = this.store.job(row.peer, row.id)
    if (row.state === 'canceled') {
      if (job != null && job.phase !== 'done') this.store.setPhase(job, 'cancel')
    } else this.store.addJob(row.peer, row.id, row.toAgent, row.expiresAt)
    this.node.store.afterCommit(() => this.follow(row.peer, row.id))
    return true
  }

  /** This node's own agent replied on a local task of ours: inside the transaction. */
  private onLocalReply(row: TaskRow, text: string): boolean {
    const job = this.store.job(row.peer, row.id)
    if (job == null || job.phase === 'done') return false
    this.store.addReply(row.peer, row.id, text)
    this.node.store.afterCommit(() => this.follow(row.peer, row.id))
    return true
  }

  private key(job: { peer: string; taskId: string }): string {
    return `${job.peer}/${job.taskId}`
  }

  /** Starts (or wakes) the follower of a task. */
  private follow(peer: string, taskId: string): void {
    if (!this.started) return
    const key = this.key({ peer, taskId })
    const running = this.followers.get(key)
    if (running != null) {
      running.kick()
      return
    }
    const follower = new Follower(this.host(), peer, taskId)
    this.followers.set(key, follower)
    void follower.run().finally(() => {
      if (this.followers.get(key) === follower) this.followers.delete(key)
    })
  }

  private host() {
    const self = this.node.peerId.toString()
    return {
      store: this.store,
      row: (job: A2aJob) =>
        this.node.taskStore.get(job.peer === self ? 'sent' : 'received', job.peer, job.taskId),
      answer: async (job: A2aJob, u: { state: TaskState; result: string; reason: string | null }) => {
        await this.respondFor(job.agent, job.taskId, u.state, u.result, u.reason)
      },
      client: (agent: string) => this.client(agent),
      write: (fn: () => void) => transaction(this.store.db, fn),
      emit: (event: string, fields: Record<string, unknown>, text: string, level?: 'info' | 'warn') =>
        this.node.log.emit(event, fields, text, level),
    }
  }

  private client(agent: string): Promise<{ client: Client; streaming: boolean }> {
    let made = this.clients.get(agent)
    if (made == null) {
      const row = this.store.agent(agent)
      if (row == null)
        return Promise.reject(
          new A2aBridgeError('not_found', `no A2A agent ${agent} is registered here (removed)`),
        )
      const card = cardOf(row)
      made = clientFor(card, row.tokenEnv).then((client) => ({
        client,
        streaming: card.capabilities?.streaming === true,
      }))
      made.catch(() => this.clients.delete(agent))
      this.clients.set(agent, made)
    }
    return made
  }
}
