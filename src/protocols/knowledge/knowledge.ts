import type { Message } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { Logger, PeerId, Startable } from '@libp2p/interface'
import { TypedEventEmitter } from 'main-event'
import { RateLimiter } from '../rate-limiter.js'
import { type Received, SyncEngine } from '../sync/index.js'
import { type BroadcastInput, createBroadcast, openBroadcast, type VerifiedBroadcast } from './broadcast.js'
import {
  BURST,
  CATCH_UP_DELAY,
  CATCH_UP_INTERVAL,
  MAX_AGE,
  MAX_BROADCAST_SIZE,
  MAX_ITEMS,
  MAX_PENDING_SECONDS,
  MAX_SYNC_MESSAGE,
  PROTOCOL_PREFIX,
  RATE,
  SEND_BURST_SHARE,
  SEND_SHARE,
  SYNC_PROTOCOL_NAME,
  SYNC_PROTOCOL_VERSION,
  SYNC_RESPONSE_BYTES,
  TOPIC,
} from './constants.js'
import { InvalidBroadcastError, PublishBacklogError } from './errors.js'
import type { KnowledgeComponents, KnowledgeEvents, KnowledgeInit } from './index.js'
import type { KnowledgeStore } from './knowledge-store.js'
import { PublishQueue } from './publish-queue.js'

const PRUNE_INTERVAL = 60_000

/**
 * Knowledge: signed broadcasts. Live ones travel over gossipsub; on every new connection each side
 * pulls from the other what it stored since the last pass (the shared sync engine, per-peer cursors),
 * keeping what falls in the retention window, so late joiners and nodes back from a partition converge. Every broadcast, live or forwarded, is
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
  private readonly catchUpDelay: number
  private readonly log: Logger
  private readonly sync: SyncEngine
  private readonly throttledAt = new Map<string, number>()
  private readonly queue: PublishQueue
  /** catch-up passes scheduled after throttling, and when the last one ran, per forwarding peer */
  private readonly catchUps = new Map<string, ReturnType<typeof setTimeout>>()
  private readonly caughtUpAt = new Map<string, number>()
  private pruneTimer?: ReturnType<typeof setInterval>
  private started = false

  constructor(components: KnowledgeComponents, init: KnowledgeInit) {
    super()
    this.components = components
    this.store = init.store
    this.accept = init.accept
    this.maxItems = init.maxItems ?? MAX_ITEMS
    this.maxAge = init.maxAge ?? MAX_AGE
    this.now = init.now ?? Date.now
    this.catchUpDelay = init.catchUpDelay ?? CATCH_UP_DELAY
    const rate = init.rate ?? RATE
    const burst = init.burst ?? BURST
    this.limiter = new RateLimiter(rate, burst, this.now)
    const self = components.peerId.toString()
    const sendRate = rate * SEND_SHARE
    this.queue = new PublishQueue({
      rate: sendRate,
      burst: Math.max(1, Math.floor(burst * SEND_BURST_SHARE)),
      maxPending: Math.max(burst, Math.ceil(sendRate * MAX_PENDING_SECONDS)),
      pending: this.store.countUnpublished(self),
      next: () => this.store.nextUnpublished(self),
      send: async (raw) => {
        await this.components.pubsub.publish(this.topic, raw)
      },
      sent: (seq) => this.store.setPublished(seq),
      unheard: () => this.components.pubsub.getSubscribers(this.topic).length === 0,
      now: this.now,
      onError: (err) => this.log('publish failed - %e', err),
    })
    this.log = components.logger.forComponent('clawlink:knowledge')
    this.syncProtocol = `/${init.protocolPrefix ?? PROTOCOL_PREFIX}/${SYNC_PROTOCOL_NAME}/${SYNC_PROTOCOL_VERSION}`
    this.topic = init.topic ?? TOPIC
    this.validate = this.validate.bind(this)
    this.sync = new SyncEngine(components, {
      protocol: this.syncProtocol,
      logName: 'clawlink:knowledge',
      state: this.store.sync,
      source: {
        epoch: () => this.store.sync.epoch(),
        head: () => this.store.sync.head(),
        changes: (after, limit) => this.store.changes(after, this.now() - this.maxAge, limit),
        raw: (id) => this.store.raw(id),
      },
      has: (id) => this.store.has(id),
      receive: (items, asked, peer) => this.receive(items, asked, peer),
      responseBytes: SYNC_RESPONSE_BYTES,
      maxResponse: MAX_SYNC_MESSAGE,
      onDone: (peer, r) => {
        if (r.complete) this.safeDispatch('sync:done', { peer, fetched: r.fetched, ms: r.ms, bytes: r.bytes })
      },
    })
  }

  readonly [Symbol.toStringTag] = '@clawlink/knowledge'

  isStarted(): boolean {
    return this.started
  }

  async start(): Promise<void> {
    await this.sync.start()
    this.started = true
  }

  afterStart(): void {
    const { pubsub } = this.components
    pubsub.topicValidators.set(this.topic, this.validate)
    pubsub.subscribe(this.topic)
    this.sync.afterStart(this.topic)
    this.prune()
    this.pruneTimer = setInterval(() => this.prune(), PRUNE_INTERVAL)
    this.queue.start()
  }

  async stop(): Promise<void> {
    this.started = false
    await this.sync.stop()
    clearInterval(this.pruneTimer)
    for (const t of this.catchUps.values()) clearTimeout(t)
    this.catchUps.clear()
    await this.queue.stop()
    const { pubsub } = this.components
    pubsub.topicValidators.delete(this.topic)
    try {
      pubsub.unsubscribe(this.topic)
    } catch {}
  }

  /**
   * Signs and stores a broadcast by this node, and queues it for gossip (paced to the mesh's per-author
   * rate; peers that miss it live get it through history sync). PublishBacklogError when the queue is full.
   */
  async publish(input: BroadcastInput): Promise<VerifiedBroadcast> {
    const wait = this.queue.refusal()
    if (wait != null) {
      throw new PublishBacklogError(
        `${this.queue.pending()} broadcasts of this node are still waiting to be published; try again in ${wait} s`,
        wait,
      )
    }
    this.queue.reserve()
    let b: VerifiedBroadcast
    try {
      const raw = await createBroadcast(
        this.components.privateKey,
        this.components.peerId.toMultihash().bytes,
        input,
        this.now(),
      )
      b = await openBroadcast(raw, this.now())
      this.accept(b, 'own')
    } catch (err) {
      this.queue.release()
      throw err
    }
    this.queue.kick()
    return b
  }

  /** Own broadcasts stored and not yet handed to gossip. */
  pendingPublish(): number {
    return this.queue.pending()
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
        this.catchUp(propagationSource)
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

  /** Pulls what was dropped from the peer that forwarded it, soon but at most once per interval. */
  private catchUp(source: PeerId): void {
    const key = source.toString()
    if (this.catchUps.has(key) || !this.started) return
    const delay = Math.max(
      this.catchUpDelay,
      (this.caughtUpAt.get(key) ?? -Infinity) + CATCH_UP_INTERVAL - this.now(),
    )
    const timer = setTimeout(() => {
      this.catchUps.delete(key)
      if (this.caughtUpAt.size > 1000) this.caughtUpAt.clear()
      this.caughtUpAt.set(key, this.now())
      void this.sync.syncFrom(source).catch(() => {})
    }, delay)
    timer.unref?.()
    this.catchUps.set(key, timer)
  }

  // ---- history sync ----

  /** Pulls from `peer` the broadcasts it stored since this node's cursor there, within retention. */
  async syncFrom(peerId: PeerId): Promise<number> {
    return (await this.sync.syncFrom(peerId)).fetched
  }

  /** Verifies and stores the broadcasts of one history response. */
  private async receive(items: Uint8Array[], asked: ReadonlySet<string>, peer: string): Promise<Received> {
    const since = this.now() - this.maxAge
    const ids: string[] = []
    let fetched = 0
    for (const item of items) {
      try {
        const b = await openBroadcast(item, this.now())
        if (!asked.has(b.id)) throw new InvalidBroadcastError('a broadcast that was not asked for')
        ids.push(b.id)
        if (b.time < since || b.author === this.components.peerId.toString()) continue
        if (this.accept(b, 'history')) fetched++
      } catch (err) {
        if (!(err instanceof InvalidBroadcastError)) throw err
        this.safeDispatch('broadcast:invalid', { peer, reason: err.message, via: 'history' })
      }
    }
    return { ids, fetched }
  }

  private safeDispatch<K extends keyof KnowledgeEvents>(type: K, detail: KnowledgeEvents[K]['detail']): void {
    try {
      this.safeDispatchEvent(type, { detail })
    } catch (err) {
      this.log.error('knowledge listener failed - %e', err)
    }
  }
}
