import type { Message, SubscriptionChangeData } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { Logger, PeerId, Startable } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { TypedEventEmitter } from 'main-event'
import { Ticker } from '../ticker.js'
import { carriesAll, checkMessage, fromKnown } from './card.js'
import { CardExchange } from './card-exchange.js'
import {
  ANNOUNCE_DEBOUNCE,
  HEARTBEAT_INTERVAL,
  MAX_ADDR_LENGTH,
  MAX_ADDRS,
  MAX_INBOUND_STREAMS,
  MAX_OUTBOUND_STREAMS,
  OFFLINE_AFTER,
  PROTOCOL_NAME,
  PROTOCOL_PREFIX,
  PROTOCOL_VERSION,
  STALE_AFTER,
  TIMEOUT,
  TOPIC,
} from './constants.js'
import { InvalidCardError } from './errors.js'
import { checkGossip, decodeMessage, sendLeave } from './exchange.js'
import { Heartbeat } from './heartbeat.js'
import type { LocalCard, PresenceComponents, PresenceEvents, PresenceInit } from './index.js'
import { MemberRelay, MemberSync } from './members.js'
import { type AgentCard, PresenceMessage, type RelayedCard, type Suspect } from './pb/presence.js'
import { type PeerRecord, type PeerStatus, PeerTable, sameCard } from './peer-table.js'
import { encodeSigned, type SignedCard, signedPart } from './signed.js'
import { Suspicion } from './suspicion.js'

/**
 * Presence: who is in the mesh. Cards are exchanged over a direct stream on every new connection (so a
 * peer is listed the moment it connects), together with the signed cards of the members one side knows
 * and the other lacks (so a newcomer lists the whole mesh at once), and gossiped with heartbeats (so
 * peers reached only through others are listed too). A peer speaks only for itself: its id comes from
 * the connection or gossip signature, and a relayed card must carry its author's own signature.
 */
export class Presence extends TypedEventEmitter<PresenceEvents> implements Startable {
  readonly protocol: string
  readonly topic: string
  private readonly components: PresenceComponents
  private readonly table: PeerTable
  private readonly getCard: () => LocalCard
  private readonly heartbeatInterval: number
  private readonly sweepInterval: number
  private readonly timeout: number
  private readonly log: Logger
  private readonly startedAt: bigint
  private seq = 0n
  private started = false
  private stopping = false
  private readonly heartbeat: Heartbeat
  private readonly ticker: Ticker
  private stopSweep?: () => void
  private topologyId?: string
  private announceSoonTimer?: ReturnType<typeof setTimeout>
  private readonly relay: MemberRelay
  private readonly memberSync: MemberSync
  /** Whether one of our announcements has reached a topic peer yet (see onSubscriptionChange). */
  private reachedTopicPeers = false
  /** The card of our last announcement, so a change of nothing is not announced (announceIfChanged). */
  private lastCard?: AgentCard
  private readonly suspicion: Suspicion
  private readonly cards: CardExchange

  constructor(components: PresenceComponents, init: PresenceInit) {
    super()
    this.components = components
    this.log = components.logger.forComponent('clawlink:presence')
    this.protocol = `/${init.protocolPrefix ?? PROTOCOL_PREFIX}/${PROTOCOL_NAME}/${PROTOCOL_VERSION}`
    this.topic = init.topic ?? TOPIC
    this.getCard = init.card
    this.heartbeatInterval = init.heartbeatInterval ?? HEARTBEAT_INTERVAL
    this.timeout = init.timeout ?? TIMEOUT
    const now = init.now ?? Date.now
    this.startedAt = BigInt(now())
    const timings = {
      staleAfter: init.staleAfter ?? STALE_AFTER,
      offlineAfter: init.offlineAfter ?? OFFLINE_AFTER,
      fullRateMembers: init.fullRateMembers,
      suspectOfflineAfter: init.suspectOfflineAfter,
    }
    this.table = new PeerTable(timings, now)
    this.relay = new MemberRelay(this.table, now)
    const interval = () => this.table.heartbeatInterval(this.heartbeatInterval)
    this.memberSync = new MemberSync(() => this.syncWithOne(), interval)
    this.heartbeat = new Heartbeat(interval, () => void this.announce(), now)
    this.sweepInterval = Math.max(100, Math.min(5_000, Math.floor(timings.staleAfter / 4)))
    this.ticker = init.ticker ?? new Ticker({ now })
    this.table.restore((init.known ?? []).map(fromKnown).filter((r): r is PeerRecord => r != null))
    this.cards = new CardExchange({
      protocol: this.protocol,
      timeout: this.timeout,
      relay: this.relay,
      running: () => this.started && !this.stopping,
      stopping: () => this.stopping,
      encode: (type, memberList) => this.encode(type, memberList),
      apply: (from, msg, raw) => this.apply(from, msg, 'direct', raw),
      acceptRelayed: (from, cards) => this.acceptRelayed(from, cards),
      failed: (peer, err) => this.reportInvalid(peer, err, 'direct'),
    })
    this.suspicion = new Suspicion({
      table: this.table,
      self: components.peerId,
      startedAt: this.startedAt,
      connectionManager: components.connectionManager,
      events: components.events,
      log: this.log,
      now,
      running: () => this.started && !this.stopping,
      changed: (change) => this.safeDispatch('peer:status', change),
      announceSoon: () => this.announceSoon(),
      announce: () => void this.announce(),
      probeDelay: init.probeDelay,
      probeTimeout: init.probeTimeout,
    })
    this.onGossip = this.onGossip.bind(this)
    this.validate = this.validate.bind(this)
    this.onSubscriptionChange = this.onSubscriptionChange.bind(this)
  }

  readonly [Symbol.toStringTag] = '@clawlink/presence'

  isStarted(): boolean {
    return this.started
  }

  async start(): Promise<void> {
    const { registrar } = this.components
    await registrar.handle(this.protocol, this.cards.answer, {
      maxInboundStreams: MAX_INBOUND_STREAMS,
      maxOutboundStreams: MAX_OUTBOUND_STREAMS,
      runOnLimitedConnection: true,
    })
    this.topologyId = await registrar.register(this.protocol, {
      notifyOnLimitedConnection: true,
      onConnect: (peerId, connection) => {
        void this.cards.dial(peerId, connection)
      },
      // cut off from everyone: our next announcement must reach the mesh again (onSubscriptionChange)
      onDisconnect: () => {
        if (this.components.connectionManager.getConnections().length === 0) this.reachedTopicPeers = false
      },
    })
    this.suspicion.start()
    this.started = true
    this.stopping = false
  }

  /** Gossipsub starts alongside us, so the topic is joined only once every service runs. */
  afterStart(): void {
    const { pubsub } = this.components
    pubsub.topicValidators.set(this.topic, this.validate)
    pubsub.addEventListener('message', this.onGossip)
    pubsub.addEventListener('subscription-change', this.onSubscriptionChange)
    pubsub.subscribe(this.topic)
    void this.announce()
    this.stopSweep = this.ticker.every(this.sweepInterval, () => this.sweep())
    this.memberSync.start()
  }

  /** Tells peers we are leaving while the connections are still up, so they see us go at once. */
  async beforeStop(): Promise<void> {
    this.stopping = true
    this.suspicion.stop()
    this.heartbeat.stop()
    this.stopSweep?.()
    this.memberSync.stop()
    clearTimeout(this.announceSoonTimer)
    const leave = await this.encode(PresenceMessage.Type.LEAVE)
    const signal = AbortSignal.timeout(Math.min(this.timeout, 2_000))
    const connections = this.components.connectionManager.getConnections()
    await Promise.allSettled([this.publish(leave), sendLeave(connections, this.protocol, leave, signal)])
  }

  async stop(): Promise<void> {
    const { registrar, pubsub } = this.components
    this.suspicion.stop()
    if (this.topologyId != null) registrar.unregister(this.topologyId)
    await registrar.unhandle(this.protocol)
    pubsub.removeEventListener('message', this.onGossip)
    pubsub.removeEventListener('subscription-change', this.onSubscriptionChange)
    pubsub.topicValidators.delete(this.topic)
    this.memberSync.stop()
    try {
      pubsub.unsubscribe(this.topic)
    } catch {}
    this.started = false
  }

  /**
   * Publishes this node's card now (start, heartbeat, card change); the next heartbeat falls due one
   * interval later (Heartbeat). The interval grows with the members known (PeerTable.heartbeatInterval),
   * so the mesh's heartbeats, which reach every node, stay a bounded number per minute whatever its size.
   */
  async announce(): Promise<void> {
    if (!this.started || this.stopping) return
    this.heartbeat.announced()
    // peers this node lost go out with it (a node that lost many names them over several announcements)
    const suspects = this.suspicion.take()
    await this.publish(await this.encode(PresenceMessage.Type.ANNOUNCE, false, suspects))
  }

  /** Members this node counts: itself and every peer not offline (what paces heartbeats and mDNS). */
  members(): number {
    return this.table.members()
  }

  /** Whether the peer is listed (not offline) with a card that carries every one of `addrs`. */
  knows(id: string, addrs: Multiaddr[]): boolean {
    const record = this.table.get(id)
    return record != null && this.table.status(record) !== 'offline' && carriesAll(record.card, addrs)
  }

  /** The heartbeat interval and the stale and offline times in force now (stretched in a large mesh). */
  timings(): { heartbeatInterval: number; staleAfter: number; offlineAfter: number } {
    return {
      heartbeatInterval: this.table.heartbeatInterval(this.heartbeatInterval),
      ...this.table.currentTimings(),
    }
  }

  /** Announces shortly unless our card is what we last announced (libp2p's own-record updates, say). */
  announceIfChanged(): void {
    if (this.lastCard == null || !sameCard(this.lastCard, this.localCard())) this.announceSoon()
  }

  /** Announces shortly, coalescing triggers (a card change, or a first topic peer: onSubscriptionChange). */
  announceSoon(): void {
    if (this.announceSoonTimer != null || !this.started || this.stopping) return
    this.announceSoonTimer = setTimeout(() => {
      this.announceSoonTimer = undefined
      void this.announce()
    }, ANNOUNCE_DEBOUNCE)
  }

  /** Every known peer with its current status. */
  peers(): Array<PeerRecord & { status: PeerStatus }> {
    return this.table.list().map((r) => ({ ...r, status: this.table.status(r) }))
  }

  /** One known peer with its current status: a lookup, not a copy of the whole table (log lines use it). */
  peer(id: string): (PeerRecord & { status: PeerStatus }) | undefined {
    const record = this.table.get(id)
    return record != null ? { ...record, status: this.table.status(record) } : undefined
  }

  /** This node's own card as it is announced. */
  localCard(): AgentCard {
    const card = this.getCard()
    const addrs = this.components.addressManager
      .getAddresses()
      .map((a) => a.bytes)
      .filter((b) => b.byteLength <= MAX_ADDR_LENGTH)
      .slice(0, MAX_ADDRS)
    return { ...card, startedAt: this.startedAt, addrs: addrs as Uint8Array<ArrayBuffer>[] }
  }

  /** Status changes through time alone (online → stale → offline), and a heartbeat they made overdue. */
  sweep(): void {
    for (const change of this.table.sweep()) this.safeDispatch('peer:status', change)
    this.heartbeat.check()
  }

  /** This node's next message, signed; `memberList` marks an exchange that goes on with member lists. */
  private async encode(
    type: PresenceMessage.Type,
    memberList = false,
    suspects: Suspect[] = [],
  ): Promise<Uint8Array> {
    this.seq++
    const msg = { type, card: this.localCard(), seq: this.seq, suspects }
    this.lastCard = msg.card
    return encodeSigned(this.components.privateKey, msg, memberList)
  }

  private async publish(bytes: Uint8Array): Promise<void> {
    try {
      const { recipients } = await this.components.pubsub.publish(this.topic, bytes)
      if (recipients.length > 0) this.reachedTopicPeers = true
    } catch (err) {
      this.log('could not publish presence - %e', err)
    }
  }

  /** A member-list exchange with one connected peer, chosen at random (MemberSync). */
  private async syncWithOne(): Promise<void> {
    const open = this.components.connectionManager.getConnections().filter((c) => c.status === 'open')
    const connection = open[Math.floor(Math.random() * open.length)]
    if (connection != null) await this.cards.dial(connection.remotePeer, connection, true)
  }

  private validate(_propagationSource: PeerId, msg: Message): TopicValidatorResult {
    try {
      if (msg.type !== 'signed') return TopicValidatorResult.Reject
      checkGossip(msg.data)
      return TopicValidatorResult.Accept
    } catch (err) {
      this.reportInvalid(msg.type === 'signed' ? msg.from : _propagationSource, err, 'gossip')
      return TopicValidatorResult.Reject
    }
  }

  /**
   * A newcomer's first announcement goes to nobody (no connections yet), and existing members learn of it
   * only from its gossip: so until one of our announcements has reached a topic peer, a peer joining the
   * topic makes us announce (once, debounced). After that we do not: a member already known to the mesh
   * re-announcing whenever anyone joins was the join storm (issue 17); newcomers learn our card from the
   * member lists exchanged on connect instead.
   */
  private onSubscriptionChange(evt: CustomEvent<SubscriptionChangeData>): void {
    if (this.reachedTopicPeers) return
    if (evt.detail.subscriptions.some((s) => s.topic === this.topic && s.subscribe)) this.announceSoon()
  }

  private onGossip(evt: CustomEvent<Message>): void {
    const msg = evt.detail
    if (msg.topic !== this.topic || msg.type !== 'signed') return
    if (msg.from.equals(this.components.peerId)) return
    try {
      this.apply(msg.from, decodeMessage(msg.data), 'gossip', msg.data)
    } catch (err) {
      this.reportInvalid(msg.from, err, 'gossip')
    }
  }

  /**
   * `from` is authenticated (connection or gossip signature); the message speaks only for that peer. Its
   * author signature, if any, is kept unchecked with the card: it is checked once, before we relay it.
   */
  private apply(from: PeerId, msg: PresenceMessage, via: 'direct' | 'gossip', raw: Uint8Array): void {
    if (from.equals(this.components.peerId)) return
    const card = checkMessage(msg)
    const id = from.toString()
    if (via === 'gossip' && msg.suspects.length > 0) this.suspicion.apply(from, msg.suspects)
    if (msg.type === PresenceMessage.Type.LEAVE) {
      const change = this.table.leave(id, card.startedAt, msg.seq)
      if (change != null) this.safeDispatch('peer:status', change)
      return
    }
    const signed: SignedCard | undefined =
      msg.signature != null ? { message: signedPart(raw), signature: msg.signature } : undefined
    const { result, change } = this.table.announce(id, card, msg.seq, signed)
    if (result === 'ignored') return
    this.safeDispatch('peer:card', { record: this.table.get(id)!, result, via })
    if (change != null) this.safeDispatch('peer:status', change)
  }

  /** Cards `remote` relayed (MemberRelay.accept checks them), reported like cards from their authors. */
  private async acceptRelayed(remote: PeerId, cards: RelayedCard[]): Promise<void> {
    if (cards.length === 0) return
    const self = this.components.peerId.toString()
    const { applied, forged } = await this.relay.accept(self, remote.toString(), cards)
    for (const { record, result, change } of applied) {
      this.safeDispatch('peer:card', { record, result, via: 'relay' })
      if (change != null) this.safeDispatch('peer:status', change)
    }
    if (forged > 0) throw new InvalidCardError(`relayed ${forged} card(s) whose signature does not verify`)
  }

  private reportInvalid(peer: PeerId, err: unknown, via: 'direct' | 'gossip'): void {
    if (err instanceof InvalidCardError || (err as Error)?.name === 'InvalidDataLengthError') {
      this.safeDispatch('peer:invalid', { peer: peer.toString(), reason: (err as Error).message, via })
    } else {
      this.log('presence exchange with %p failed - %e', peer, err)
    }
  }

  private safeDispatch<K extends keyof PresenceEvents>(type: K, detail: PresenceEvents[K]['detail']): void {
    try {
      this.safeDispatchEvent(type, { detail })
    } catch (err) {
      this.log.error('presence listener failed - %e', err)
    }
  }
}
