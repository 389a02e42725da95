// One ClawLink node: data dir, identity, mesh key, store, libp2p stack, discovery and the control API.
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { shortId } from '../api/short-id.js'
import type { ControlInfo } from '../api/types.js'
import type { ControlServer } from '../control/server.js'
import { ApiError, MAX_BODY_SIZE, ControlServer as Server } from '../control/server.js'
import { type DataDirLock, lockDataDir } from '../home/data-dir-lock.js'
import { type MeshKey, resolveMeshKey } from '../home/mesh-key.js'
import { type DataDirPaths, dataDirPaths, runDir, runFileName } from '../home/paths.js'
import { ensurePrivateDir } from '../home/private-dir.js'
import {
  BlobStore,
  FileStore,
  type Files,
  type KeyState,
  type VerifiedEntry,
} from '../protocols/files/index.js'
import {
  type Knowledge,
  KnowledgeStore,
  type VerifiedBroadcast,
  type Via,
} from '../protocols/knowledge/index.js'
import type { LocalCard, Presence } from '../protocols/presence/index.js'
import { validateCaps, validateDescription, validateName } from '../protocols/presence/index.js'
import { type TaskEvent, TaskStore, type Tasks } from '../protocols/tasks/index.js'
import type { Store } from '../store/database.js'
import type { StoreFaultError } from '../store/errors.js'
import { GroupCommit } from '../store/group-commit.js'
import { openStore } from '../store/open.js'
import { V1Api } from '../v1/index.js'
import { VERSION } from '../version.js'
import { fromStoredPeer, peerJson, toStoredPeer } from './cards.js'
import { registerControlRoutes } from './control-routes.js'
import type { EventLog } from './event-log.js'
import { loadOrCreateIdentity } from './identity.js'
import { Inbox } from './inbox.js'
import { createStack, type Stack } from './libp2p-config.js'
import { EventHook } from './notify/event-hook.js'
import { WakeNotifier } from './notify/wake-notifier.js'
import type { NodeOptions } from './options.js'
import { PeerGuard } from './peer-guard.js'
import { Redialer } from './redialer.js'
import { StoreHealth } from './store-health.js'
import { taskJson } from './task-json.js'
import { WatchHub } from './watch-hub.js'

/** How often dirty peer records are written to the store. */
const PEER_FLUSH_INTERVAL = 5_000
/** Remembered peers not heard from for this long are not redialled at start. */
const REMEMBER_FOR = 7 * 24 * 3600 * 1000

export class ClawLinkNode {
  readonly options: NodeOptions
  readonly paths: DataDirPaths
  readonly log: EventLog
  private card: LocalCard
  private lock?: DataDirLock
  private store?: Store
  private taskStoreRef?: TaskStore
  private agentInbox?: Inbox
  private knowledgeStoreRef?: KnowledgeStore
  private fileStoreRef?: FileStore
  private blobStoreRef?: BlobStore
  /** blob transfers in progress: sha256 → bytes received, size (for progress bars) */
  readonly transfers = new Map<string, { received: number; size: number }>()
  /** when this node first ran: history from before that is not pushed to the agent as events */
  private firstStartedAt = Date.now()
  private stack?: Stack
  private control?: ControlServer
  private meshKeyInfo?: MeshKey
  private redialer?: Redialer
  private runFile?: string
  private flushTimer?: ReturnType<typeof setInterval>
  private readonly dirtyPeers = new Set<string>()
  /** Discovered peers we failed to reach, so the log says it once, not every mDNS round. */
  private readonly unreachable = new Set<string>()
  /** name, caps and description each peer last announced, to log real card changes only */
  private readonly offers = new Map<string, string>()
  /** PeerIds learned by dialling bootstrap addresses without /p2p. */
  private readonly bootstrapPeers = new Map<string, string>()
  readonly startedAt = Date.now()
  readonly guard: PeerGuard
  /** what `watch`, wake-ups and --on-event hooks observe */
  readonly watchHub = new WatchHub()
  private notifiers: Array<{ stop(): Promise<void> }> = []
  /** the v1 HTTP API (--v1-api), if enabled */
  private v1Api?: V1Api
  readonly storeHealth: StoreHealth
  private readonly fatalHandlers: Array<(err: Error) => void> = []

  constructor(options: NodeOptions, log: EventLog) {
    validateName(options.name)
    validateCaps(options.caps)
    validateDescription(options.description)
    this.options = options
    this.log = log
    this.paths = dataDirPaths(options.dataDir, options.env)
    this.guard = new PeerGuard({ allow: options.allow })
    this.storeHealth = new StoreHealth(this.paths, log, (err) => {
      for (const fn of this.fatalHandlers) fn(err)
    })
    this.card = {
      name: options.name,
      caps: options.caps,
      description: options.description,
      machine: options.machine.slice(0, 255),
      version: VERSION,
      load: 0,
      relayOnly: options.relayOnly,
    }
  }

  get libp2p(): Stack {
    if (this.stack == null) throw new Error('node not started')
    return this.stack
  }

  get presence(): Presence {
    return this.libp2p.services.presence
  }

  get tasks(): Tasks {
    return this.libp2p.services.tasks
  }

  get taskStore(): TaskStore {
    if (this.taskStoreRef == null) throw new Error('node not started')
    return this.taskStoreRef
  }

  get knowledge(): Knowledge {
    return this.libp2p.services.knowledge
  }

  get knowledgeStore(): KnowledgeStore {
    if (this.knowledgeStoreRef == null) throw new Error('node not started')
    return this.knowledgeStoreRef
  }

  get files(): Files {
    return this.libp2p.services.files
  }

  get fileStore(): FileStore {
    if (this.fileStoreRef == null) throw new Error('node not started')
    return this.fileStoreRef
  }

  get blobStore(): BlobStore {
    if (this.blobStoreRef == null) throw new Error('node not started')
    return this.blobStoreRef
  }

  get v1(): V1Api | undefined {
    return this.v1Api
  }

  get inbox(): Inbox {
    if (this.agentInbox == null) throw new Error('node not started')
    return this.agentInbox
  }

  /** Called when the node cannot go on (its store was lost); the caller stops it and exits non-zero. */
  onFatal(fn: (err: Error) => void): void {
    this.fatalHandlers.push(fn)
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
    return this.stack?.services.presence.peers().find((p) => p.id === peer)?.card.name
  }

  get meshKey(): MeshKey {
    if (this.meshKeyInfo == null) throw new Error('node not started')
    return this.meshKeyInfo
  }

  get peerId(): PeerId {
    return this.libp2p.peerId
  }

  localCard(): LocalCard {
    return this.card
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
    // the CLI finds nodes by name through these files
    if (update.name != null) this.writeControlInfo()
    await this.presence.announce()
  }

  async start(): Promise<void> {
    const { paths } = this
    // Everything the node writes (store, WAL, socket, key files) is for this user only.
    process.umask(0o077)
    // the socket's and the run file's dirs must be ours alone: checked first, before any work
    ensurePrivateDir(paths.root)
    ensurePrivateDir(dirname(paths.socket))
    ensurePrivateDir(runDir(this.options.home))
    this.lock = lockDataDir(paths)
    try {
      await this.startLocked()
    } catch (err) {
      await this.stop().catch(() => {})
      throw err
    }
  }

  private async startLocked(): Promise<void> {
    const { options, paths } = this
    this.meshKeyInfo = resolveMeshKey({
      keyFile: options.keyFile,
      token: options.token,
      open: options.open,
      env: options.env,
      homeKeyPath: options.homeKeyPath,
    })
    if (this.meshKeyInfo.source === 'open') {
      this.log.emit(
        'open_mesh',
        {},
        'WARNING: running with --open: there is no mesh key and any host on the network may join this node',
        'warn',
      )
    }
    // a node with an identity has run before: its store must be there and sound (see store-open.ts)
    const opened = openStore(paths, {
      existing: existsSync(paths.identity),
      reset: options.resetStore === true,
    })
    this.store = opened.store
    if (opened.reset != null) {
      this.log.emit(
        'store_reset',
        { path: paths.store, problem: opened.reset.problem, movedTo: opened.reset.movedTo ?? null },
        `--reset-store: the store was ${opened.reset.problem}; started a fresh one` +
          (opened.reset.movedTo != null ? ` (the old one is kept as ${opened.reset.movedTo})` : ''),
        'warn',
      )
    }
    const { key } = await loadOrCreateIdentity(paths.identity)
    // one group commit for the node's task writes and inbox hand-outs: one fsync covers them all
    const commits = new GroupCommit(this.store.db)
    const inbox = new Inbox(this.store.db, commits)
    this.agentInbox = inbox
    inbox.subscribe((event) => this.watchHub.publish(event))
    const store = this.store
    if (options.v1Api != null) {
      // before anything can arrive: its agents' queues fill in the transactions that store the cause
      const v1 = new V1Api(this, store.db, { ...options.v1Api, token: options.v1Token })
      this.v1Api = v1
      inbox.onAppend((event) => v1.onInboxAppend(event))
    }
    const first = store.getMeta('first_started_at')
    if (first == null) store.setMeta('first_started_at', String(this.firstStartedAt))
    else this.firstStartedAt = Number(first)
    const knowledgeStore = new KnowledgeStore(store.db)
    this.knowledgeStoreRef = knowledgeStore
    const fileStore = new FileStore(store.db)
    this.fileStoreRef = fileStore
    const blobStore = new BlobStore(paths.blobs)
    await blobStore.init()
    this.blobStoreRef = blobStore
    this.taskStoreRef = new TaskStore({
      db: this.store.db,
      // a task for (or delegated by) a v1 agent goes to its queue instead of the node's inbox
      onEvent: (event) => {
        if (this.v1Api?.onTaskEvent(event) !== true) inbox.append(this.eventJson(event))
      },
    })
    const known = this.store
      .listPeers()
      .map(fromStoredPeer)
      .filter((p) => p != null)
    this.stack = await createStack({
      privateKey: key,
      meshKey: this.meshKeyInfo,
      listen: options.listen,
      relayServer: options.relayServer,
      relays: options.relays,
      gater: this.guard.gater(),
      mdns: options.mdns,
      mdnsTag: options.mdnsTag,
      mdnsInterval: options.mdnsInterval,
      tasks: {
        store: this.taskStoreRef,
        commits,
        maxTaskSize: options.maxTaskSize,
        maxPendingPerSender: options.maxInbox,
        peerMessageRate: options.taskRate,
        nameOf: (peer) => this.nameOf(peer),
        canAck: () => this.storeHealth.canAck(),
      },
      knowledge: {
        store: knowledgeStore,
        maxItems: options.knowledgeMax,
        maxAge: options.knowledgeMaxAge,
        rate: options.broadcastRate,
        burst: options.broadcastRate * 5,
        accept: (b, via) => this.acceptBroadcast(b, via),
      },
      files: {
        store: fileStore,
        blobs: blobStore,
        maxFileSize: options.maxFileSize,
        eagerSize: options.eagerFetchSize,
        historyLimit: options.fileHistory,
        accept: (entry, via, apply) => this.acceptEntry(entry, via, apply),
      },
      presence: {
        card: () => ({
          ...this.card,
          load: this.taskStoreRef?.openCount() ?? 0,
          v1: this.v1Api?.cardAgents(),
        }),
        heartbeatInterval: options.heartbeatInterval,
        staleAfter: options.staleAfter,
        offlineAfter: options.offlineAfter,
        known,
      },
    })
    this.wireEvents()
    this.startNotifiers()
    this.control = new Server(
      paths.socket,
      (err) =>
        this.log.emit(
          'control_error',
          { message: err.message },
          `control API error: ${err.message}`,
          'error',
        ),
      // a task may be JSON-escaped to several times its size; leave room for that
      Math.max(MAX_BODY_SIZE, options.maxTaskSize * 6 + 64 * 1024),
      {
        mapError: (err) => {
          const fault = this.storeProblem(err)
          return fault != null ? new ApiError(fault.status, fault.code, fault.message) : undefined
        },
        gate: () => {
          const lost = this.storeHealth.problem()
          return lost != null ? new ApiError(lost.status, lost.code, lost.message) : undefined
        },
      },
    )
    ensurePrivateDir(dirname(paths.socket))
    this.storeHealth.watch()
    registerControlRoutes(this.control, this)
    await this.control.listen()
    await this.stack.start()
    await this.v1Api?.start()
    this.writeControlInfo()
    this.startRedialer(
      known.map((k) => ({ id: k.id, lastSeen: k.lastSeen, left: k.leftAt != null, addrs: k.addrs })),
    )
    this.flushTimer = setInterval(() => this.flushPeers(), PEER_FLUSH_INTERVAL)
  }

  async stop(): Promise<void> {
    clearInterval(this.flushTimer)
    this.storeHealth.stop()
    // pending wake-ups get a moment to go out; they never hold the stop for long
    await Promise.all(this.notifiers.splice(0).map((n) => n.stop()))
    this.redialer?.stop()
    await this.v1Api?.stop().catch(() => {})
    if (this.stack != null) {
      try {
        await this.stack.stop()
      } catch (err) {
        this.log.emit(
          'stop_error',
          { message: (err as Error).message },
          `error while stopping: ${(err as Error).message}`,
          'warn',
        )
      }
    }
    await this.control?.close().catch(() => {})
    if (this.store != null) {
      this.flushPeers()
      this.store.close()
    }
    if (this.runFile != null) rmSync(this.runFile, { force: true })
    rmSync(this.paths.control, { force: true })
    this.lock?.release()
    this.lock = undefined
  }

  isConnected(peer: string): boolean {
    try {
      return this.libp2p.getConnections(peerIdFromString(peer)).length > 0
    } catch {
      return false
    }
  }

  /** Stores a file entry; when someone else's entry changes a key's winner, the agent's event goes with it. */
  private acceptEntry(
    entry: VerifiedEntry,
    via: 'own' | 'live' | 'sync',
    apply: () => { before?: KeyState; after?: KeyState },
  ): boolean {
    let changed: KeyState | undefined
    const isNew = this.store!.transaction(() => {
      if (!this.fileStore.put(entry)) return false
      const { before, after } = apply()
      if (after != null && (before?.winner.id !== after.winner.id || before?.conflict !== after.conflict)) {
        changed = after
        if (via !== 'own') {
          const w = after.winner
          this.inbox.append({
            type: 'file_updated',
            id: w.id,
            from: { id: w.author, name: this.authorName(w.author) },
            to: { id: this.peerId.toString(), name: this.card.name },
            priority: 'normal',
            key: w.key,
            version: w.version,
            size: w.size,
            deleted: w.deleted,
            conflict: after.conflict,
            timestamp: new Date(w.time).toISOString(),
          })
        }
      }
      return true
    })
    if (changed != null && via !== 'own') {
      const w = changed.winner
      this.log.emit(
        'file_updated',
        {
          key: w.key,
          version: w.version,
          author: w.author,
          size: w.size,
          deleted: w.deleted,
          conflict: changed.conflict,
          via,
        },
        `${w.key} is now version ${w.version} by ${this.authorName(w.author)}${w.deleted ? ' (deleted)' : ` (${w.size} bytes)`}${changed.conflict ? '; CONFLICT: a concurrent write is kept in its history' : ''}`,
        changed.conflict ? 'warn' : 'info',
      )
    }
    return isNew
  }

  authorName(id: string): string {
    if (this.stack != null && id === this.peerId.toString()) return this.card.name
    return this.nameOf(id) ?? id.slice(0, 16)
  }

  /** Stores a broadcast and, for one the agent has not seen, its poll event, in one transaction. */
  private acceptBroadcast(b: VerifiedBroadcast, via: Via): boolean {
    const isNew = this.store!.transaction(() => {
      if (!this.knowledgeStore.put(b)) return false
      if (via === 'live' || (via === 'history' && b.time >= this.firstStartedAt)) {
        this.inbox.append({
          type: 'broadcast',
          id: b.id,
          from: { id: b.author, name: this.nameOf(b.author) ?? b.author.slice(0, 16) },
          to: { id: this.peerId.toString(), name: this.card.name },
          priority: 'normal',
          topic: b.topic,
          tags: b.tags,
          content: b.content,
          timestamp: new Date(b.time).toISOString(),
        })
      }
      return true
    })
    if (isNew && via === 'live') {
      const name = this.nameOf(b.author) ?? b.author.slice(0, 16)
      this.log.emit(
        'broadcast_received',
        { id: b.id, author: b.author, name, topic: b.topic, tags: b.tags },
        `broadcast on ${b.topic} from ${name}: ${b.content.length > 60 ? `${b.content.slice(0, 57)}...` : b.content}`.replace(
          /\s+/g,
          ' ',
        ),
      )
    }
    return isNew
  }

  private eventJson(event: TaskEvent): Parameters<Inbox['append']>[0] {
    const self = { id: this.peerId.toString(), name: this.card.name }
    const json = taskJson(event.row, self)
    return {
      type: event.type,
      id: json.id,
      from: { id: event.row.peer, name: this.nameOf(event.row.peer) ?? event.row.peerName },
      to: self,
      task: json.task,
      context: json.context,
      priority: json.priority,
      state: json.state,
      result: json.result,
      reason: json.reason,
      timestamp: new Date().toISOString(),
    }
  }

  private writeControlInfo(): void {
    const info: ControlInfo = {
      pid: process.pid,
      name: this.card.name,
      peerId: this.peerId.toString(),
      dataDir: this.paths.root,
      socket: this.paths.socket,
      version: VERSION,
      startedAt: new Date(this.startedAt).toISOString(),
    }
    const text = `${JSON.stringify(info, null, 2)}\n`
    writeFileSync(this.paths.control, text, { mode: 0o600 })
    const dir = runDir(this.options.home)
    ensurePrivateDir(dir)
    this.runFile = join(dir, runFileName(this.paths.root))
    writeFileSync(this.runFile, text, { mode: 0o600 })
  }

  private wireEvents(): void {
    const libp2p = this.libp2p
    const presence = libp2p.services.presence
    const label = (id: string) => {
      const name = presence.peers().find((p) => p.id === id)?.card.name
      return name != null ? `${name} (${shortId(id)})` : shortId(id)
    }

    presence.addEventListener('peer:card', (evt) => {
      const { record, result } = evt.detail
      this.dirtyPeers.add(record.id)
      if (result === 'new' || result === 'updated') {
        libp2p.peerStore
          .merge(peerIdFromString(record.id), { multiaddrs: parseAddrs(record.card.addrs) })
          .catch(() => {})
      }
      // load and addresses change often; people care when what the agent offers changes
      const offer = `${record.card.name}\n${record.card.caps.join(',')}\n${record.card.description}`
      const before = this.offers.get(record.id)
      this.offers.set(record.id, offer)
      if (result === 'updated' && before != null && before !== offer) {
        this.log.emit(
          'peer_updated',
          { peer: record.id, name: record.card.name, caps: record.card.caps },
          `peer updated its card: ${label(record.id)} caps=[${record.card.caps.join(',')}]`,
        )
      }
    })

    presence.addEventListener('peer:status', (evt) => {
      const { record, from, to } = evt.detail
      this.dirtyPeers.add(record.id)
      if (!record.card.relayOnly) {
        this.watchHub.publish({
          type: to === 'online' ? 'peer_online' : to === 'stale' ? 'peer_stale' : 'peer_offline',
          peer: peerJson(record, to, this.isConnected(record.id)),
          reason:
            to === 'online'
              ? from === 'unknown'
                ? 'joined'
                : 'back'
              : to === 'offline'
                ? record.leftAt != null
                  ? 'left'
                  : 'timed_out'
                : undefined,
          timestamp: new Date().toISOString(),
        })
      }
      const fields = { peer: record.id, name: record.card.name, machine: record.card.machine, from, to }
      if (to === 'online') {
        this.unreachable.delete(record.id)
        libp2p.services.tasks.kick(record.id)
        const again = from === 'unknown' ? 'joined' : 'is back'
        this.log.emit(
          'peer_online',
          fields,
          `peer ${again}: ${label(record.id)} on ${record.card.machine || 'unknown host'}, caps=[${record.card.caps.join(',')}]`,
        )
      } else if (to === 'stale') {
        this.log.emit('peer_stale', fields, `peer stale (no heartbeat): ${label(record.id)}`)
      } else {
        const why = record.leftAt != null ? 'left' : 'timed out'
        this.log.emit(
          'peer_offline',
          { ...fields, reason: why },
          `peer offline (${why}): ${label(record.id)}`,
        )
        if (record.leftAt != null) this.redialer?.remove(`peer:${record.id}`)
      }
    })

    this.wireTaskEvents(label)

    const knowledge = libp2p.services.knowledge
    knowledge.addEventListener('sync:done', ({ detail }) => {
      if (detail.fetched === 0) return
      this.log.emit(
        'history_synced',
        detail,
        `caught up on ${detail.fetched} broadcast(s) from ${label(detail.peer)} in ${detail.ms} ms`,
      )
    })
    knowledge.addEventListener('broadcast:invalid', ({ detail }) => {
      this.offend(detail.peer, label)
      this.log.emit(
        'broadcast_invalid',
        detail,
        `dropped a bad broadcast from ${label(detail.peer)} (${detail.via}): ${detail.reason}`,
        'warn',
      )
    })
    knowledge.addEventListener('broadcast:throttled', ({ detail }) => {
      this.offend(detail.peer, label)
      this.log.emit(
        'broadcast_throttled',
        detail,
        `${label(detail.peer)} broadcasts faster than ${this.options.broadcastRate}/s; dropping the excess`,
        'warn',
      )
    })

    const files = libp2p.services.files
    files.addEventListener('entry:invalid', ({ detail }) => {
      this.offend(detail.peer, label)
      this.log.emit(
        'file_entry_invalid',
        detail,
        `dropped a bad file entry from ${label(detail.peer)} (${detail.via}): ${detail.reason}`,
        'warn',
      )
    })
    files.addEventListener('entry:refused', ({ detail }) => {
      // no offence: how far ahead an entry is depends on what this node has seen so far
      this.log.emit(
        'file_entry_refused',
        detail,
        `refused a file entry of ${detail.key} by ${label(detail.author)} from ${label(detail.peer)} (${detail.via}): ${detail.reason}`,
        'warn',
      )
    })
    files.addEventListener('blob:invalid', ({ detail }) => {
      this.offend(detail.peer, label)
      this.log.emit(
        'blob_invalid',
        detail,
        `discarded content ${detail.sha256.slice(0, 12)} from ${label(detail.peer)}: ${detail.reason}; trying another peer`,
        'warn',
      )
    })
    files.addEventListener('blob:fetched', ({ detail }) => {
      this.transfers.delete(detail.sha256)
      this.log.emit(
        'blob_fetched',
        detail,
        `fetched ${detail.size} bytes (${detail.sha256.slice(0, 12)}) from ${label(detail.peer)}`,
      )
    })
    files.addEventListener('blob:progress', ({ detail }) => {
      this.transfers.set(detail.sha256, { received: detail.received, size: detail.size })
    })

    presence.addEventListener('peer:invalid', (evt) => {
      const { peer, reason, via } = evt.detail
      this.offend(peer, label)
      this.log.emit(
        'peer_invalid',
        evt.detail,
        `dropped a bad presence message from ${label(peer)} (${via}): ${reason}`,
        'warn',
      )
    })

    libp2p.addEventListener('peer:discovery', (evt) => {
      const id = evt.detail.id
      if (libp2p.getConnections(id).length > 0) return
      libp2p.dial(id).catch((err: Error) => {
        const key = id.toString()
        if (this.unreachable.has(key)) return
        this.unreachable.add(key)
        this.log.emit(
          'dial_failed',
          { peer: key, source: 'mdns', message: err.message },
          `could not connect to ${shortId(key)} found by mDNS: ${err.message} (a node of another mesh key?)`,
          'warn',
        )
      })
    })

    libp2p.addEventListener('peer:disconnect', (evt) => {
      const id = evt.detail.toString()
      const record = presence.peers().find((p) => p.id === id)
      if (record != null && record.status !== 'offline') this.addRememberedPeer(id, false)
    })
  }

  /** --wake-url and --on-event: tell the agent when work arrives, without delaying its delivery. */
  private startNotifiers(): void {
    const { options } = this
    const agent = { name: this.card.name, dataDir: this.paths.root }
    if (options.wakeUrl != null) {
      const wake = new WakeNotifier({
        url: options.wakeUrl,
        token: options.wakeToken,
        types: options.wakeOn,
        agent,
        log: this.log,
      })
      this.watchHub.subscribe((e) => wake.notify(e), { internal: true })
      this.notifiers.push(wake)
    }
    if (options.onEvent != null) {
      const hook = new EventHook({ command: options.onEvent, types: options.wakeOn, log: this.log })
      this.watchHub.subscribe((e) => hook.notify(e), { internal: true })
      this.notifiers.push(hook)
    }
  }

  private wireTaskEvents(label: (id: string) => string): void {
    const tasks = this.libp2p.services.tasks
    const presence = this.libp2p.services.presence
    const short = (id: string) => id.slice(0, 8)
    const excerpt = (text: string) =>
      (text.length > 60 ? `${text.slice(0, 57)}...` : text).replace(/\s+/g, ' ')
    let load = this.taskStore.openCount()
    tasks.addEventListener('task:changed', () => {
      const now = this.taskStore.openCount()
      if (now !== load) {
        load = now
        presence.announceSoon()
      }
    })
    tasks.addEventListener('task:received', ({ detail: t }) => {
      this.log.emit(
        'task_received',
        { task: t.id, from: t.peer, name: t.peerName, priority: t.priority },
        `task ${short(t.id)} from ${label(t.peer)} (${t.priority}): ${excerpt(t.task)}`,
      )
    })
    tasks.addEventListener('task:delivered', ({ detail: t }) => {
      this.log.emit(
        'task_delivered',
        { task: t.id, to: t.peer },
        `task ${short(t.id)} delivered to ${label(t.peer)}`,
      )
    })
    tasks.addEventListener('task:updated', ({ detail: t }) => {
      const who = t.direction === 'sent' ? label(t.peer) : `${label(t.peer)} (delegator)`
      this.log.emit(
        'task_updated',
        { task: t.id, peer: t.peer, state: t.state, direction: t.direction },
        `task ${short(t.id)} is ${t.state}, says ${who}`,
      )
    })
    tasks.addEventListener('task:expired', ({ detail: t }) => {
      this.log.emit(
        'task_expired',
        { task: t.id, to: t.peer, reason: t.reason },
        `task ${short(t.id)} for ${label(t.peer)} expired undelivered: ${t.reason}`,
        'warn',
      )
    })
    tasks.addEventListener('message:refused', ({ detail: m }) => {
      this.log.emit(
        'task_refused',
        { task: m.taskId, peer: m.peer, kind: m.kind, reason: m.reason },
        `${label(m.peer)} refused ${m.kind.toLowerCase()} for task ${short(m.taskId)}: ${m.reason}`,
        'warn',
      )
    })
    tasks.addEventListener('message:rejected', ({ detail: m }) => {
      this.log.emit(
        'task_rejected_incoming',
        { task: m.taskId, peer: m.peer, kind: m.kind, reason: m.reason },
        `refused ${m.kind.toLowerCase()} for task ${short(m.taskId)} from ${label(m.peer)}: ${m.reason}`,
        'warn',
      )
    })
    tasks.addEventListener('message:invalid', ({ detail: m }) => {
      this.offend(m.peer, label)
      this.log.emit(
        'task_invalid',
        m,
        `dropped a bad task message from ${label(m.peer)}: ${m.reason}`,
        'warn',
      )
    })
    tasks.addEventListener('store:failed', ({ detail: m }) => {
      const reason = this.storeProblem(m.error)?.message ?? m.error.message
      this.log.emit(
        'store_error',
        { task: m.taskId, peer: m.peer, kind: m.kind, reason },
        `could not store ${m.kind.toLowerCase()} for task ${short(m.taskId)} from ${label(m.peer)}, so it is not acknowledged (it will be sent again): ${reason}`,
        'error',
      )
    })
    tasks.addEventListener('message:throttled', ({ detail: m }) => {
      this.log.emit(
        'task_throttled',
        m,
        `${label(m.peer)} sends tasks faster than allowed; holding back the excess`,
        'warn',
      )
    })
    tasks.addEventListener('notice:dropped', ({ detail: m }) => {
      this.log.emit(
        'notice_dropped',
        { task: m.taskId, peer: m.peer, kind: m.kind },
        `gave up sending ${m.kind.toLowerCase()} for task ${short(m.taskId)} to ${label(m.peer)}: it stayed unreachable`,
        'warn',
      )
    })
    tasks.addEventListener('delivery:failed', ({ detail: m }) => {
      if (m.attempt !== 1 && m.attempt % 10 !== 0) return
      this.log.emit(
        'delivery_failed',
        {
          task: m.taskId,
          peer: m.peer,
          kind: m.kind,
          attempt: m.attempt,
          retryInMs: m.retryInMs,
          error: m.error,
        },
        `could not deliver ${m.kind.toLowerCase()} for task ${short(m.taskId)} to ${label(m.peer)} (attempt ${m.attempt}): ${m.error}; retrying in ${Math.round(m.retryInMs / 1000)} s and when it connects`,
      )
    })
  }

  /** A peer broke a protocol's rules or flooded: counted, and past the limit banned for a while. */
  private offend(peer: string, label: (id: string) => string): void {
    const until = this.guard.offence(peer)
    if (until == null) return
    this.redialer?.remove(`peer:${peer}`)
    this.log.emit(
      'peer_banned',
      { peer, until: new Date(until).toISOString() },
      `disconnected ${label(peer)} and refusing it until ${new Date(until).toISOString()}: too many bad or excess messages`,
      'warn',
    )
    try {
      void this.libp2p.hangUp(peerIdFromString(peer)).catch(() => {})
    } catch {}
  }

  private startRedialer(
    known: Array<{ id: string; lastSeen: number; left: boolean; addrs: Uint8Array[] }>,
  ): void {
    const libp2p = this.libp2p
    this.redialer = new Redialer({
      onFailure: (key, err, attempt, next) => {
        if (!key.startsWith('addr:') && attempt > 1) return
        this.log.emit(
          'dial_failed',
          { target: key.slice(key.indexOf(':') + 1), attempt, retryInMs: next ?? null, message: err.message },
          `could not reach ${key.slice(key.indexOf(':') + 1)}: ${err.message}${next != null ? `; retrying in ${Math.round(next / 1000)} s` : '; giving up'}`,
          attempt === 1 ? 'warn' : 'info',
        )
      },
    })
    for (const addr of [...new Set([...this.options.peers, ...this.options.relays])]) {
      const ma = multiaddr(addr)
      const target = ma.getComponents().find((c) => c.name === 'p2p')?.value
      this.redialer.add(`addr:${addr}`, {
        permanent: true,
        connected: () => {
          const id = target ?? this.bootstrapPeers.get(addr)
          return id != null && this.isConnected(id)
        },
        dial: async () => {
          const connection = await libp2p.dial(ma)
          this.bootstrapPeers.set(addr, connection.remotePeer.toString())
        },
      })
    }
    const horizon = Date.now() - REMEMBER_FOR
    for (const peer of known) {
      if (peer.left || peer.lastSeen < horizon || peer.addrs.length === 0) continue
      this.addRememberedPeer(peer.id, true)
    }
    this.redialer.start()
  }

  private addRememberedPeer(id: string, fromStore: boolean): void {
    const redialer = this.redialer
    if (redialer == null || redialer.has(`peer:${id}`)) return
    let peerId: PeerId
    try {
      peerId = peerIdFromString(id)
    } catch {
      return
    }
    const record = this.presence.peers().find((p) => p.id === id)
    // Remembered addresses must be in the peer store before the first dial can use them.
    const ready =
      fromStore && record != null
        ? this.libp2p.peerStore.merge(peerId, { multiaddrs: parseAddrs(record.card.addrs) }).then(
            () => {},
            () => {},
          )
        : Promise.resolve()
    redialer.add(`peer:${id}`, {
      permanent: false,
      connected: () => this.libp2p.getConnections(peerId).length > 0,
      dial: async () => {
        await ready
        await this.libp2p.dial(peerId)
      },
    })
  }

  private flushPeers(): void {
    if (this.store == null || this.stack == null || this.dirtyPeers.size === 0) return
    const records = this.presence.peers().filter((p) => this.dirtyPeers.has(p.id))
    this.dirtyPeers.clear()
    try {
      this.store.transaction(() => {
        for (const r of records) this.store!.upsertPeer(toStoredPeer(r))
      })
    } catch (err) {
      this.storeProblem(err) // a damaged store is reported (once) as such
      this.log.emit(
        'store_error',
        { message: (err as Error).message },
        `could not save peers: ${(err as Error).message}`,
        'error',
      )
    }
  }
}

function parseAddrs(addrs: Uint8Array[]): Multiaddr[] {
  return addrs.flatMap((a) => {
    try {
      return [multiaddr(a)]
    } catch {
      return []
    }
  })
}
