import type { Message } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { TypedEventEmitter } from 'main-event'
import { RateLimiter } from '../rate-limiter.js'
import { startResync } from '../resync.js'
import { type BroadcastInput, createBroadcast, openBroadcast, type VerifiedBroadcast } from './broadcast.js'
import {
  BURST,
  MAX_AGE,
  MAX_BROADCAST_SIZE,
  MAX_ITEMS,
  MAX_SYNC_MESSAGE,
  MAX_SYNC_REQUESTS,
  PROTOCOL_PREFIX,
  PROTOCOL_VERSION,
  RATE,
  SYNC_GET_BATCH,
  SYNC_IDS_PAGE,
  SYNC_PROTOCOL_NAME,
  SYNC_RESPONSE_BYTES,
  SYNC_TIMEOUT,
  TOPIC,
} from './constants.js'
import { InvalidBroadcastError } from './errors.js'
import type { KnowledgeComponents, KnowledgeEvents, KnowledgeInit } from './index.js'
import type { KnowledgeStore } from './knowledge-store.js'
import { SyncRequest, SyncResponse } from './pb/knowledge.js'

const PRUNE_INTERVAL = 60_000
const ID_RE = /^[0-9a-f]{32}$/

/**
 * Knowledge: signed broadcasts. Live ones travel over gossipsub; on every new connection each side
 * pulls from the other the broadcasts it lacks within the retention window (ids first, then bodies),
 * so late joiners and nodes back from a partition converge. Every broadcast, live or forwarded, is
 * verified against its author's signature before it is stored.
 */
export class Knowledge extends TypedEventEmitter<KnowledgeEvents> implements Startable {
  readonly syncProtocol: string
  readonly topic: string
  private readonly components: KnowledgeComponents
  private readonly store: KnowledgeStore
  private readonly accept: KnowledgeInit['accept']
  private readonly maxItems: number
  private readonly maxAge: number
  private readonly limiter: RateLimiter
  private readonly now: () => number
  private readonly log: Logger
  private readonly syncing = new Set<string>()
  private readonly syncAgain = new Set<string>()
  /** ids some sync is fetching right now */
  private readonly claimed = new Set<string>()
  private readonly throttledAt = new Map<string, number>()
  private topologyId?: string
  private pruneTimer?: ReturnType<typeof setInterval>
  private started = false
  private stopResync?: () => void

  constructor(components: KnowledgeComponents, init: KnowledgeInit) {
    super()
    this.components = components
    this.store = init.store
    this.accept = init.accept
    this.maxItems = init.maxItems ?? MAX_ITEMS
    this.maxAge = init.maxAge ?? MAX_AGE
    this.now = init.now ?? Date.now
    this.limiter = new RateLimiter(init.rate ?? RATE, init.burst ?? BURST, this.now)
    this.log = components.logger.forComponent('clawlink:knowledge')
    this.syncProtocol = `/${init.protocolPrefix ?? PROTOCOL_PREFIX}/${SYNC_PROTOCOL_NAME}/${PROTOCOL_VERSION}`
    this.topic = init.topic ?? TOPIC
    this.handleSync = this.handleSync.bind(this)
    this.validate = this.validate.bind(this)
  }

  readonly [Symbol.toStringTag] = '@clawlink/knowledge'

  isStarted(): boolean {
    return this.started
  }

  async start(): Promise<void> {
    const { registrar } = this.components
    await registrar.handle(this.syncProtocol, this.handleSync, {
      maxInboundStreams: 4,
      maxOutboundStreams: 4,
      runOnLimitedConnection: true,
    })
    this.topologyId = await registrar.register(this.syncProtocol, {
      notifyOnLimitedConnection: true,
      onConnect: (peerId) => {
        void this.syncFrom(peerId)
      },
    })
    this.started = true
  }

  afterStart(): void {
    const { pubsub } = this.components
    pubsub.topicValidators.set(this.topic, this.validate)
    pubsub.subscribe(this.topic)
    this.stopResync = startResync({
      pubsub,
      connectionManager: this.components.connectionManager,
      topic: this.topic,
      sync: (peer) => this.syncFrom(peer),
    })
    this.prune()
    this.pruneTimer = setInterval(() => this.prune(), PRUNE_INTERVAL)
  }

  async stop(): Promise<void> {
    this.started = false
    this.stopResync?.()
    clearInterval(this.pruneTimer)
    const { registrar, pubsub } = this.components
    if (this.topologyId != null) registrar.unregister(this.topologyId)
    await registrar.unhandle(this.syncProtocol)
    pubsub.topicValidators.delete(this.topic)
    try {
      pubsub.unsubscribe(this.topic)
    } catch {}
  }

  /** Signs, stores and publishes a broadcast by this node. */
  async publish(input: BroadcastInput): Promise<VerifiedBroadcast> {
    const raw = await createBroadcast(
      this.components.privateKey,
      this.components.peerId.toMultihash().bytes,
      input,
      this.now(),
    )
    const b = await openBroadcast(raw, this.now())
    this.accept(b, 'own')
    try {
      await this.components.pubsub.publish(this.topic, raw)
    } catch (err) {
      // stored: peers that are not reachable now get it through history sync
      this.log('publish failed - %e', err)
    }
    return b
  }

  prune(): void {
    try {
      this.store.prune(this.maxItems, this.maxAge, this.now())
    } catch (err) {
      this.log.error('prune failed - %e', err)
    }
  }

  // ---- live ----

  private async validate(propagationSource: PeerId, msg: Message): Promise<TopicValidatorResult> {
    const peer = msg.type === 'signed' ? msg.from.toString() : propagationSource.toString()
    try {
      if (msg.type !== 'signed') throw new InvalidBroadcastError('unsigned gossip message')
      if (msg.data.byteLength > MAX_BROADCAST_SIZE)
        throw new InvalidBroadcastError(`message of ${msg.data.byteLength} bytes`)
      const b = await openBroadcast(msg.data, this.now())
      // live messages come from their author: the gossip signature and the broadcast's must agree
      if (b.author !== peer) throw new InvalidBroadcastError('gossip sender is not the broadcast author')
      if (b.time < this.now() - this.maxAge) return TopicValidatorResult.Ignore
      if (this.store.has(b.id)) return TopicValidatorResult.Accept
      if (!this.limiter.take(peer)) {
        this.throttled(peer)
        return TopicValidatorResult.Ignore
      }
      if (!msg.from.equals(this.components.peerId)) this.accept(b, 'live')
      return TopicValidatorResult.Accept
    } catch (err) {
      if (err instanceof InvalidBroadcastError) {
        this.safeDispatch('broadcast:invalid', { peer, reason: err.message, via: 'live' })
        return TopicValidatorResult.Reject
      }
      this.log.error('could not handle a broadcast from %s - %e', peer, err)
      return TopicValidatorResult.Ignore
    }
  }

  private throttled(peer: string): void {
    const last = this.throttledAt.get(peer) ?? 0
    if (this.now() - last < 10_000) return
    this.throttledAt.set(peer, this.now())
    this.safeDispatch('broadcast:throttled', { peer })
  }

  // ---- history sync ----

  /** Pulls from `peer` the broadcasts we lack within the retention window. */
  async syncFrom(peerId: PeerId): Promise<number> {
    const peer = peerId.toString()
    if (!this.started) return 0
    if (this.syncing.has(peer)) {
      // asked again while pulling: pull once more afterwards, for what the running pass may miss
      this.syncAgain.add(peer)
      return 0
    }
    this.syncing.add(peer)
    const t0 = Date.now()
    let stream: Stream | undefined
    let fetched = 0
    const claims: string[] = []
    try {
      const signal = AbortSignal.timeout(SYNC_TIMEOUT * 10)
      stream = await this.components.connectionManager.openStream(peerId, this.syncProtocol, {
        signal,
        runOnLimitedConnection: true,
      })
      const lp = lpStream(stream, { maxDataLength: MAX_SYNC_MESSAGE })
      const ask = async (req: SyncRequest): Promise<SyncResponse> => {
        await lp.write(SyncRequest.encode(req), { signal })
        return SyncResponse.decode(await lp.read({ signal }), {
          limits: { entries: SYNC_IDS_PAGE, items: SYNC_GET_BATCH },
        })
      }
      const since = this.now() - this.maxAge
      const missing: string[] = []
      let cursor = ''
      for (let page = 0; page < MAX_SYNC_REQUESTS / 2; page++) {
        const res = await ask({ kind: SyncRequest.Kind.IDS, since: BigInt(since), cursor, ids: [] })
        for (const e of res.entries) if (ID_RE.test(e.id) && !this.store.has(e.id)) missing.push(e.id)
        if (!res.more || res.entries.length === 0) break
        cursor = res.cursor
      }
      while (missing.length > 0 && this.started) {
        // syncs with several peers run at once: each fetches only ids no other sync is fetching
        const batch = missing
          .splice(0, SYNC_GET_BATCH)
          .filter((id) => !this.claimed.has(id) && !this.store.has(id))
        if (batch.length === 0) continue
        for (const id of batch) this.claimed.add(id)
        claims.push(...batch)
        const res = await ask({ kind: SyncRequest.Kind.GET, since: 0n, cursor: '', ids: batch })
        if (res.items.length === 0) break
        const got = new Set<string>()
        for (const item of res.items) {
          try {
            const b = await openBroadcast(item, this.now())
            got.add(b.id)
            if (!batch.includes(b.id)) throw new InvalidBroadcastError('a broadcast that was not asked for')
            if (b.time < since || b.author === this.components.peerId.toString()) continue
            if (this.accept(b, 'history')) fetched++
          } catch (err) {
            if (!(err instanceof InvalidBroadcastError)) throw err
            this.safeDispatch('broadcast:invalid', { peer, reason: err.message, via: 'history' })
          }
        }
        // a response is cut at its byte limit: ask again for the rest
        const rest = batch.filter((id) => !got.has(id) && !this.store.has(id))
        for (const id of batch) this.claimed.delete(id)
        missing.unshift(...rest)
        if (got.size === 0) break
      }
      await stream.close({ signal }).catch(() => {})
      this.safeDispatch('sync:done', { peer, fetched, ms: Date.now() - t0 })
    } catch (err) {
      stream?.abort(err as Error)
      this.log('history sync from %s failed - %e', peer, err)
    } finally {
      for (const id of claims) this.claimed.delete(id)
      this.syncing.delete(peer)
      if (this.syncAgain.delete(peer)) setTimeout(() => void this.syncFrom(peerId), 0)
    }
    return fetched
  }

  private async handleSync(stream: Stream, connection: Connection): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: 64 * 1024 })
    try {
      for (let n = 0; n < MAX_SYNC_REQUESTS; n++) {
        let req: SyncRequest
        try {
          req = SyncRequest.decode(await lp.read({ signal: AbortSignal.timeout(SYNC_TIMEOUT) }), {
            limits: { ids: SYNC_GET_BATCH },
          })
        } catch (err) {
          if ((err as Error).name === 'UnexpectedEOFError') break
          throw err
        }
        await lp.write(SyncResponse.encode(this.answer(req)))
      }
      await stream.close()
    } catch (err) {
      this.log('sync request from %p failed - %e', connection.remotePeer, err)
      stream.abort(err as Error)
    }
  }

  private answer(req: SyncRequest): SyncResponse {
    if (req.kind === SyncRequest.Kind.IDS) {
      const since = Math.max(Number(req.since), this.now() - this.maxAge)
      const entries = this.store.idsSince(since, req.cursor, SYNC_IDS_PAGE)
      const last = entries.at(-1)
      return {
        entries: entries.map((e) => ({ id: e.id, time: BigInt(e.time) })),
        more: entries.length === SYNC_IDS_PAGE,
        cursor: last != null ? `${last.time}:${last.id}` : req.cursor,
        items: [],
      }
    }
    const items: Uint8Array<ArrayBuffer>[] = []
    let bytes = 0
    for (const id of req.ids.slice(0, SYNC_GET_BATCH)) {
      const raw = this.store.raw(id)
      if (raw == null) continue
      if (bytes + raw.byteLength > SYNC_RESPONSE_BYTES && items.length > 0) break
      bytes += raw.byteLength
      items.push(raw as Uint8Array<ArrayBuffer>)
    }
    return { entries: [], more: false, cursor: '', items }
  }

  private safeDispatch<K extends keyof KnowledgeEvents>(type: K, detail: KnowledgeEvents[K]['detail']): void {
    try {
      this.safeDispatchEvent(type, { detail })
    } catch (err) {
      this.log.error('knowledge listener failed - %e', err)
    }
  }
}
