// The ClawLink v1 HTTP API on top of a node: `clawlink node --v1-api [HOST:]PORT`. An unchanged v1
// client pointed at it joins the mesh; its agents, queues and files live in the node's store.
import type { DatabaseSync } from 'node:sqlite'
import type { EventJson } from '../api/types.js'
import type { ClawLinkNode } from '../core/index.js'
import { ConfigError } from '../home/errors.js'
import {
  AgentCard,
  HostedAgent,
  type HostedAgentList,
  limits as presenceLimits,
} from '../protocols/presence/index.js'
import { renameHostedAgent, type TaskEvent, type TaskRow } from '../protocols/tasks/index.js'
import { CARD_AGENT_BUDGET, CARD_AGENT_MAX_AGE } from './constants.js'
import {
  broadcastFromEvent,
  cancelFromRow,
  delegationFromRow,
  fileUpdated,
  responseFromRow,
} from './envelopes.js'
import { V1Error } from './errors.js'
import { carriedResponse, isSentCarrier } from './respond-copy.js'
import { V1Server } from './server.js'
import { V1Store } from './store.js'
import { startV1Push, type V1WsHandle, type V1WsOptions } from './ws-setup.js'

export { isLoopback, parseV1Listen, type V1Listen } from './listen.js'
export { V1Store } from './store.js'

export interface V1ApiInit {
  host: string
  port: number
  token?: string
  /** WebSocket bounds and timings (tests shorten them). */
  ws?: V1WsOptions
  /** where the token came from, for the startup line (CLAWLINK_TOKEN also keys the mesh) */
  tokenFrom?: string
}

export class V1Api {
  readonly store: V1Store
  private readonly node: ClawLinkNode
  private readonly init: V1ApiInit
  private server?: V1Server
  private readonly db: DatabaseSync
  private ws?: V1WsHandle
  /** where it listens once started (the port may have been 0) */
  address?: { host: string; port: number }

  /** Opens the v1 tables in the node's store; call before the node receives anything. */
  constructor(node: ClawLinkNode, db: DatabaseSync, init: V1ApiInit) {
    this.node = node
    this.init = init
    this.db = db
    this.store = new V1Store(db)
    // the node's tasks (same store) for or from a re-registered agent follow it to its new id
    this.store.onReplaced = (old, agentId) => renameHostedAgent(db, old, agentId)
  }

  /**
   * Registers the v1 agents with the node as hosted agents (their queues fill in the transactions
   * that store the cause) and on its card; call in createNode's beforeStart.
   */
  register(): void {
    this.node.mailbox.register({
      takeTask: (event) => this.onTaskEvent(event),
      onEvent: (event) => this.onInboxAppend(event),
      agents: () =>
        this.store.list().map((a) => ({
          agentId: a.agentId,
          name: a.name,
          capabilities: a.capabilities,
          description: a.description,
          machine: a.machine,
          lastHeartbeat: a.lastHeartbeat,
        })),
      acceptLocal: (task) => this.onLocalTask(task),
    })
    this.node.setHostedAgents(() => this.cardAgents())
    this.node.onStop('before-network', () => this.stop())
  }

  async start(): Promise<void> {
    const { node, init } = this
    const onError = (err: Error) =>
      node.log.emit('v1_api_error', { message: err.message }, `v1 API error: ${err.message}`, 'error')
    const ws = startV1Push(node, this.db, this.store, init.token, init.ws ?? {}, onError)
    this.ws = ws
    this.server = new V1Server({
      host: init.host,
      port: init.port,
      token: init.token,
      context: { node, store: this.store, authRequired: init.token != null },
      // the largest task or result, JSON-escaped, must fit
      maxBodySize: Math.max(2 * 1024 * 1024, node.options.maxTaskSize * 6 + 64 * 1024),
      onError,
      onUpgrade: (req, socket, head) => ws.sockets.handleUpgrade(req, socket, head),
      mapError: (err) => {
        const fault = node.storeProblem(err)
        return fault != null ? new V1Error(fault.status, fault.message) : undefined
      },
      gate: () => {
        const lost = node.storeHealth.problem()
        return lost != null ? new V1Error(lost.status, lost.message) : undefined
      },
    })
    let addr: Awaited<ReturnType<V1Server['listen']>>
    try {
      addr = await this.server.listen()
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      const why = code === 'EADDRINUSE' ? 'the address is in use' : (code ?? (err as Error).message)
      throw new ConfigError(`--v1-api cannot listen on ${init.host}:${init.port}: ${why}`)
    }
    this.address = { host: addr.address, port: addr.port }
    const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`
    node.log.emit(
      'v1_api_listening',
      {
        host: addr.address,
        port: addr.port,
        url,
        auth: init.token != null,
        token_from: init.token != null ? (init.tokenFrom ?? '--v1-token') : null,
        agents: this.store.list().length,
      },
      `v1 HTTP API listening on ${url}${init.token != null ? ` (bearer token required, from ${init.tokenFrom ?? '--v1-token'})` : ''}`,
    )
  }

  async stop(): Promise<void> {
    this.ws?.stop()
    this.ws = undefined
    await this.server?.close()
    this.server = undefined
  }

  /**
   * Routes a task event to a v1 agent's queue, inside the task store's transaction. True when a v1
   * agent of this node took it; false leaves it to the node's own inbox (`clawlink poll`).
   */
  onTaskEvent(event: TaskEvent): boolean {
    const { row } = event
    if (event.type === 'task_reply') {
      // v1 has no message for a reply (and a v1 agent cannot ask: its statuses have no input-required)
      return row.toAgent != null && this.store.has(row.toAgent)
    }
    if (row.direction === 'received') {
      if (row.toAgent == null || !this.store.has(row.toAgent)) return false
      const copy = event.type === 'task' ? carriedResponse(this.node, this.store, row) : undefined
      if (copy != null) {
        // a response another node's v1 agent addressed to this one (/respond to_agent): done with
        // its carrier once stored, so the sending node's task ends
        this.store.enqueue(row.toAgent, copy)
        const to = row.toAgent
        this.node.store.afterCommit(() => {
          this.node.taskService.respondFor(to, row.id, 'completed', '').catch(() => {})
        })
        return true
      }
      this.store.rememberShort(row.id)
      this.store.enqueue(row.toAgent, event.type === 'task' ? delegationFromRow(row) : cancelFromRow(row))
      return true
    }
    if (isSentCarrier(row)) return true
    if (row.fromAgent == null || !this.store.has(row.fromAgent)) return false
    this.store.rememberShort(row.id)
    this.store.enqueue(row.fromAgent, responseFromRow(row))
    return true
  }

  /**
   * A task this node's own agent delegated to one of its v1 agents (new, or canceled), queued inside
   * the task store's transaction; false when no such v1 agent is registered here.
   */
  onLocalTask(row: TaskRow): boolean {
    if (row.toAgent == null || !this.store.has(row.toAgent)) return false
    this.store.rememberShort(row.id)
    // from_agent: the node's own agent, by its name (v1 agents answer by message_id, not by it)
    const from = { ...row, fromAgent: this.node.localCard().name }
    this.store.enqueue(row.toAgent, row.state === 'canceled' ? cancelFromRow(from) : delegationFromRow(from))
    return true
  }

  /**
   * Broadcasts and file changes reach every v1 agent, inside the transaction that stores them; this
   * node's own ones (mailbox.shareOwn) all but the v1 agent that made them.
   */
  onInboxAppend(event: Omit<EventJson, 'seq'>): void {
    const own = event.from.id === this.node.peerId.toString()
    if (event.type === 'broadcast') {
      this.store.fanOut(broadcastFromEvent(event), own ? event.fromHostedAgent : undefined)
    } else if (event.type === 'file_updated' && event.key != null) {
      const state = this.node.fileStore.state(event.key)
      if (state == null) return
      const editor = own ? state.winner.hostedEditor : undefined
      this.store.fanOut(fileUpdated(state.winner), editor)
    }
  }

  /**
   * The v1 agents this node's card lists: recently heard from first, within a byte budget that also
   * leaves room for the rest of the card, so the presence message stays under its size limit.
   */
  cardAgents(now = Date.now()): HostedAgentList | undefined {
    const agents: HostedAgent[] = []
    const budget = Math.min(CARD_AGENT_BUDGET, presenceLimits.MAX_MESSAGE_SIZE - this.baseCardSize() - 128)
    let bytes = 0
    const recent = this.store
      .list()
      .filter((a) => now - a.lastHeartbeat <= CARD_AGENT_MAX_AGE)
      .sort((a, b) => b.lastHeartbeat - a.lastHeartbeat)
    for (const a of recent) {
      if (agents.length >= presenceLimits.MAX_HOSTED_AGENTS) break
      const entry: HostedAgent = {
        agentId: a.agentId,
        name: a.name,
        capabilities: a.capabilities.slice(0, presenceLimits.MAX_HOSTED_AGENT_CAPS),
        description: a.description.slice(0, presenceLimits.MAX_HOSTED_AGENT_DESCRIPTION_LENGTH),
        machine: a.machine,
        heartbeatAge: Math.min(Math.max(0, now - a.lastHeartbeat), 2 ** 32 - 1),
      }
      const size = HostedAgent.encode(entry).byteLength + 4
      if (bytes + size > budget) break
      bytes += size
      agents.push(entry)
    }
    return agents.length === 0 ? undefined : { agents }
  }

  /** The card without v1 agents, as presence will send it (addresses at their largest). */
  private baseCardSize(): number {
    let addrs: Uint8Array[] = []
    try {
      addrs = this.node.libp2p
        .getMultiaddrs()
        .map((a) => a.bytes)
        .slice(0, presenceLimits.MAX_ADDRS)
    } catch {
      // not started yet: no addresses
    }
    const card = this.node.localCard()
    return AgentCard.encode({
      ...card,
      load: 2 ** 31,
      startedAt: BigInt(Date.now()),
      addrs: addrs as Uint8Array<ArrayBuffer>[],
    }).byteLength
  }
}
