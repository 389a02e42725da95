// One running ClawLink node: its store, its libp2p stack with the ClawLink protocols, and the services
// that own the rules for tasks, files and broadcasts. Built and started by createNode (create-node.ts);
// adapters (control API, v1 API) and notifiers are put around it by the daemon.
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { DataDirLock } from '../home/data-dir-lock.js'
import type { MeshKey } from '../home/mesh-key.js'
import type { DataDirPaths } from '../home/paths.js'
import type { BlobStore, FileStore, Files } from '../protocols/files/index.js'
import type { Knowledge, KnowledgeStore } from '../protocols/knowledge/index.js'
import type { HostedAgentList, LocalCard, Presence } from '../protocols/presence/index.js'
import { limits, validateCaps, validateDescription, validateName } from '../protocols/presence/index.js'
import type { TaskStore, Tasks } from '../protocols/tasks/index.js'
import type { Ticker } from '../protocols/ticker.js'
import type { Store } from '../store/database.js'
import type { StoreFaultError } from '../store/errors.js'
import { A2aOutbound } from './a2a-outbound/service.js'
import type { NodeContext } from './context.js'
import type { EventLog } from './event-log.js'
import { FileService } from './file-service.js'
import type { Inbox } from './inbox.js'
import { KnowledgeService } from './knowledge-service.js'
import type { Stack } from './libp2p-config.js'
import type { Mailbox } from './mailbox.js'
import type { NodeOptions } from './options.js'
import type { PeerGuard } from './peer-guard.js'
import { PeerKeeper } from './peer-keeper.js'
import type { StoreHealth } from './store-health.js'
import { TaskService } from './task-service.js'
import type { WatchHub } from './watch-hub.js'

/** Everything createNode prepares before the node object exists. */
export interface NodeParts {
  options: NodeOptions
  log: EventLog
  paths: DataDirPaths
  lock: DataDirLock
  meshKey: MeshKey
  store: Store
  stack: Stack
  inbox: Inbox
  mailbox: Mailbox
  taskStore: TaskStore
  knowledgeStore: KnowledgeStore
  fileStore: FileStore
  blobStore: BlobStore
  guard: PeerGuard
  storeHealth: StoreHealth
  watchHub: WatchHub
  /** the one timer of the node's periodic chores (shared with presence's sweep) */
  ticker: Ticker
  card: LocalCard
  /** when this node first ran: history from before that is not pushed to the agent as events */
  firstStartedAt: number
}

type StopPhase = 'before-network' | 'after-network'

export class ClawLinkNode implements NodeContext {
  readonly options: NodeOptions
  readonly log: EventLog
  readonly paths: DataDirPaths
  readonly meshKey: MeshKey
  readonly store: Store
  readonly libp2p: Stack
  readonly inbox: Inbox
  readonly mailbox: Mailbox
  readonly taskStore: TaskStore
  readonly knowledgeStore: KnowledgeStore
  readonly fileStore: FileStore
  readonly blobStore: BlobStore
  readonly guard: PeerGuard
  readonly storeHealth: StoreHealth
  /** what `watch`, wake-ups and --on-event hooks observe */
  readonly watchHub: WatchHub
  readonly ticker: Ticker
  readonly firstStartedAt: number
  readonly startedAt = Date.now()
  readonly taskService: TaskService
  readonly fileService: FileService
  readonly knowledgeService: KnowledgeService
  readonly peers: PeerKeeper
  /** external A2A agents bridged to the mesh through this node (`clawlink a2a add`) */
  readonly a2a: A2aOutbound
  private card: LocalCard
  private lock?: DataDirLock
  private readonly hosted: Array<() => HostedAgentList | undefined> = []
  private readonly cardListeners: Array<(card: LocalCard) => void> = []
  private readonly fatalHandlers: Array<(err: Error) => void> = []
  private stage = 'running'
  private readonly stopHooks: Record<StopPhase, Array<() => Promise<void>>> = {
    'before-network': [],
    'after-network': [],
  }
  private stopping?: Promise<void>

  constructor(parts: NodeParts) {
    this.options = parts.options
    this.log = parts.log
    this.paths = parts.paths
    this.lock = parts.lock
    this.meshKey = parts.meshKey
    this.store = parts.store
    this.libp2p = parts.stack
    this.inbox = parts.inbox
    this.mailbox = parts.mailbox
    this.taskStore = parts.taskStore
    this.knowledgeStore = parts.knowledgeStore
    this.fileStore = parts.fileStore
    this.blobStore = parts.blobStore
    this.guard = parts.guard
    this.storeHealth = parts.storeHealth
    this.watchHub = parts.watchHub
    this.ticker = parts.ticker
    this.card = parts.card
    this.firstStartedAt = parts.firstStartedAt
    this.taskService = new TaskService(this)
    this.fileService = new FileService(this)
    this.knowledgeService = new KnowledgeService(this)
    this.peers = new PeerKeeper(this)
    this.a2a = new A2aOutbound(this, (agent, id, state, result, reason) =>
      this.taskService.respondFor(agent, id, state, result, reason),
    )
  }

  get presence(): Presence {
    return this.libp2p.services.presence
  }

  get tasks(): Tasks {
    return this.libp2p.services.tasks
  }

  get knowledge(): Knowledge {
    return this.libp2p.services.knowledge
  }

  get files(): Files {
    return this.libp2p.services.files
  }

  get peerId(): PeerId {
    return this.libp2p.peerId
  }

  /** Called when the node cannot go on (its store was lost); the caller stops it and exits non-zero. */
  onFatal(fn: (err: Error) => void): void {
    this.fatalHandlers.push(fn)
  }

  /** StoreHealth reports a lost store here. */
  fatal(err: Error): void {
    for (const fn of this.fatalHandlers) fn(err)
  }

  /**
   * What is wrong with the store: with `err`, that failure as a full disk or a damaged store (or
   * undefined for anything else); without, whether the store was lost (removed or replaced).
   */
  storeProblem(err?: unknown): StoreFaultError | undefined {
    return this.storeHealth.problem() ?? (err != null ? this.storeHealth.fault(err) : undefined)
  }

  /** The other party's current name, if presence knows it. */
  nameOf(peer: string): string | undefined {
    return this.presence.peer(peer)?.card.name
  }

  /** A name for an author of files or broadcasts: this node's, a known peer's, or a short id. */
  authorName(id: string): string {
    if (id === this.peerId.toString()) return this.card.name
    return this.nameOf(id) ?? id.slice(0, 16)
  }

  isConnected(peer: string): boolean {
    try {
      return this.libp2p.getConnections(peerIdFromString(peer)).length > 0
    } catch {
      return false
    }
  }

  localCard(): LocalCard {
    return this.card
  }

  /** The card presence announces: ours, with the load and the agents an adapter hosts here. */
  announcedCard(): LocalCard {
    const agents = this.hosted.flatMap((list) => list()?.agents ?? []).slice(0, limits.MAX_HOSTED_AGENTS)
    return {
      ...this.card,
      load: this.taskStore.openCount(),
      hostedAgents: agents.length > 0 ? { agents } : undefined,
    }
  }

  /** An adapter (the v1 API, the A2A bridge) lists the agents it hosts on this node's card; register before start. */
  setHostedAgents(list: () => HostedAgentList | undefined): void {
    this.hosted.push(list)
  }

  /** `fn` hears of every change of this node's card (the daemon rewrites its run files on a new name). */
  onCardChange(fn: (card: LocalCard) => void): void {
    this.cardListeners.push(fn)
  }

  /** Changes this node's card and announces it at once. */
  async updateCard(update: Partial<Pick<LocalCard, 'name' | 'caps' | 'description'>>): Promise<void> {
    if (update.name != null) validateName(update.name)
    if (update.caps != null) validateCaps(update.caps)
    if (update.description != null) validateDescription(update.description)
    const card = { ...this.card }
    if (update.name != null) card.name = update.name
    if (update.caps != null) card.caps = update.caps
    if (update.description != null) card.description = update.description
    this.card = card
    for (const fn of this.cardListeners) fn(card)
    await this.presence.announce()
  }

  /**
   * What the node stops with it: `before-network` hooks run first (notifiers, the v1 API), then
   * libp2p stops, then `after-network` hooks (the control API), then the store closes.
   */
  onStop(phase: StopPhase, fn: () => Promise<void>): void {
    this.stopHooks[phase].push(fn)
  }

  /** Starts the network; createNode calls it once the adapters are registered. */
  async start(): Promise<void> {
    this.storeHealth.watch()
    await this.libp2p.start()
    this.peers.start()
    this.a2a.start()
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopOnce()
    return this.stopping
  }

  /** What a stop in progress is waiting for (said when a stop takes too long: daemon/run.ts). */
  get stopStage(): string {
    return this.stage
  }

  private async stopOnce(): Promise<void> {
    this.storeHealth.stop()
    this.a2a.stop()
    // pending wake-ups get a moment to go out; they never hold the stop for long
    this.stage = 'notifiers and local APIs'
    await Promise.all(this.stopHooks['before-network'].map((fn) => fn().catch(() => {})))
    this.peers.stop()
    this.stage = 'libp2p'
    try {
      await this.libp2p.stop()
    } catch (err) {
      this.log.emit(
        'stop_error',
        { message: (err as Error).message },
        `error while stopping: ${(err as Error).message}`,
        'warn',
      )
    }
    // presence's sweep left with libp2p; nothing periodic runs past this point
    this.ticker.clear()
    this.stage = 'the control API'
    for (const fn of this.stopHooks['after-network']) await fn().catch(() => {})
    this.stage = 'the store'
    this.inbox.close()
    this.peers.flush(true)
    this.store.close()
    this.lock?.release()
    this.lock = undefined
    this.stage = 'stopped'
  }
}
