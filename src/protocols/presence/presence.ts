import type { Message, SubscriptionChangeData } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { TypedEventEmitter } from 'main-event'
import { checkMessage, fromKnown } from './card.js'
import {
  ANNOUNCE_DEBOUNCE,
  HEARTBEAT_INTERVAL,
  MAX_ADDR_LENGTH,
  MAX_ADDRS,
  MAX_EXCHANGE_FRAME,
  MAX_INBOUND_STREAMS,
  MAX_MESSAGE_SIZE,
  MAX_OUTBOUND_STREAMS,
  OFFLINE_AFTER,
  PROTOCOL_NAME,
  PROTOCOL_PREFIX,
  PROTOCOL_VERSION,
  REFUTE_INTERVAL,
  STALE_AFTER,
  TIMEOUT,
  TOPIC,
} from './constants.js'
import { InvalidCardError } from './errors.js'
import { decodeMessage, readCard, readMembers, readRelays, writeMembers, writeRelays } from './exchange.js'
import { Heartbeat } from './heartbeat.js'
import type { LocalCard, PresenceComponents, PresenceEvents, PresenceInit } from './index.js'
import { LinkWatch } from './link-watch.js'
import { MemberRelay, MemberSync, parseDigests } from './members.js'
import { type AgentCard, PresenceMessage, type RelayedCard, type Suspect } from './pb/presence.js'
import { type PeerRecord, type PeerStatus, PeerTable, sameCard } from './peer-table.js'
import { encodeSigned, type SignedCard, signedPart } from './signed.js'
import { parseSuspects, toSuspect } from './suspects.js'

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
  private sweepTimer?: ReturnType<typeof setInterval>
  private topologyId?: string
  private announceSoonTimer?: ReturnType<typeof setTimeout>
  private readonly relay: MemberRelay
  private readonly memberSync: MemberSync
  /** Whether one of our announcements has reached a topic peer yet (see onSubscriptionChange). */
  private reachedTopicPeers = false
  /** The card of our last announcement, so a change of nothing is not announced (announceIfChanged). */
  private lastCard?: AgentCard
  private readonly now: () => number
  private readonly linkWatch: LinkWatch
  /** Peers we lost and could not dial back, to be named in our next announcement. */
  private outgoingSuspects: Suspect[] = []
  private refuteTimer?: ReturnType<typeof setTimeout>
  private lastRefute = Number.NEGATIVE_INFINITY

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
    this.now = now
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
    this.table.restore((init.known ?? []).map(fromKnown).filter((r): r is PeerRecord => r != null))
    this.linkWatch = new LinkWatch({
      worthProbing: (id) => this.reachable(id),
      connected: (peer) => components.connectionManager.getConnections(peer).some((c) => c.status === 'open'),
      connections: () => components.connectionManager.getConnections().filter((c) => c.status === 'open').length,
      dial: (peer, signal) => components.connectionManager.openConnection(peer, { signal }),
      unreachable: (peer) => this.lost(peer),
      delay: init.probeDelay,
      timeout: init.probeTimeout,
    })
    this.onConnectionClose = this.onConnectionClose.bind(this)
    this.handleStream = this.handleStream.bind(this)
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
    await registrar.handle(this.protocol, this.handleStream, {
      maxInboundStreams: MAX_INBOUND_STREAMS,
      maxOutboundStreams: MAX_OUTBOUND_STREAMS,
      runOnLimitedConnection: true,
    })
    this.topologyId = await registrar.register(this.protocol, {
      notifyOnLimitedConnection: true,
      onConnect: (peerId, connection) => {
        void this.exchange(peerId, connection)
      },
      // cut off from everyone: our next announcement must reach the mesh again (onSubscriptionChange)
      onDisconnect: () => {
        if (this.components.connectionManager.getConnections().length === 0) this.reachedTopicPeers = false
      },
    })
    this.components.events.addEventListener('connection:close', this.onConnectionClose)
    this.linkWatch.start()
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
    this.sweepTimer = setInterval(() => this.sweep(), this.sweepInterval)
    this.memberSync.start()
  }

  /** Tells peers we are leaving while the connections are still up, so they see us go at once. */
  async beforeStop(): Promise<void> {
    this.stopping = true
    this.linkWatch.stop()
    clearTimeout(this.refuteTimer)
    this.heartbeat.stop()
    clearInterval(this.sweepTimer)
    this.memberSync.stop()
    clearTimeout(this.announceSoonTimer)
    const leave = await this.encode(PresenceMessage.Type.LEAVE)
    const signal = AbortSignal.timeout(Math.min(this.timeout, 2_000))
    const direct = this.components.connectionManager.getConnections().map(async (connection) => {
      const stream = await connection.newStream(this.protocol, { signal, runOnLimitedConnection: true })
      try {
        await lpStream(stream, { maxDataLength: MAX_MESSAGE_SIZE }).write(leave, { signal })
        await stream.close({ signal })
      } catch (err) {
        stream.abort(err as Error)
        throw err
      }
    })
    await Promise.allSettled([this.publish(leave), ...direct])
  }

  async stop(): Promise<void> {
    const { registrar, pubsub } = this.components
    this.components.events.removeEventListener('connection:close', this.onConnectionClose)
    this.linkWatch.stop()
    clearTimeout(this.refuteTimer)
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
    const suspects = this.outgoingSuspects
    this.outgoingSuspects = []
    await this.publish(await this.encode(PresenceMessage.Type.ANNOUNCE, false, suspects))
  }

  /** Members this node counts: itself and every peer not offline (what paces heartbeats and mDNS). */
  members(): number {
    return this.table.members()
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

  /** Whether a broken link to `id` is worth a dial back: a member we hold as reachable. */
  private reachable(id: string): boolean {
    const record = this.table.get(id)
    return (
      this.started &&
      !this.stopping &&
      record != null &&
      record.suspected == null &&
      this.table.status(record) !== 'offline'
    )
  }

  /** A peer we lost and could not dial back: stale here at once, and named in our next announcement. */
  private lost(peer: PeerId): void {
    const id = peer.toString()
    const record = this.table.get(id)
    if (record == null) return
    const { startedAt } = record.card
    const { applied, change } = this.table.suspect(id, startedAt, record.seq, this.components.peerId.toString())
    if (change != null) this.safeDispatch('peer:status', change)
    if (!applied) return
    this.log('%p unreachable after its link broke: telling the mesh', peer)
    this.outgoingSuspects.push(toSuspect(peer, startedAt, record.seq))
    this.announceSoon()
  }

  private onConnectionClose(evt: CustomEvent<Connection>): void {
    if (!this.stopping) this.linkWatch.closed(evt.detail)
  }

  /** Suspicions in a gossiped announcement: of others, held; of us (this run), answered by announcing. */
  private applySuspects(from: PeerId, msg: PresenceMessage): void {
    const self = this.components.peerId.toString()
    for (const s of parseSuspects(msg.suspects)) {
      if (s.peer === self) {
        if (s.startedAt === this.startedAt) this.refute()
        continue
      }
      const { change } = this.table.suspect(s.peer, s.startedAt, s.seq, from.toString())
      if (change != null) this.safeDispatch('peer:status', change)
    }
  }

  /** Announces soon (at most once per REFUTE_INTERVAL): a newer message of ours clears any suspicion. */
  private refute(): void {
    if (this.refuteTimer != null || !this.started || this.stopping) return
    const wait = Math.max(ANNOUNCE_DEBOUNCE, this.lastRefute + REFUTE_INTERVAL - this.now())
    this.refuteTimer = setTimeout(() => {
      this.refuteTimer = undefined
      this.lastRefute = this.now()
      void this.announce()
    }, wait)
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

  /**
   * The dialling side: our card and member list, their card and member list, the cards they relay to us,
   * then those we relay to them. An older node answers with its card only (no member_list flag). Both
   * ends of a connection run this; only the end that opened the connection asks for member lists, so
   * cards are relayed once per connection (the other end's exchange is one card each way).
   */
  private async exchange(
    peerId: PeerId,
    connection: Connection,
    lists = connection.direction === 'outbound',
  ) {
    if (!this.started || this.stopping) return
    const signal = AbortSignal.timeout(this.timeout)
    let stream: Stream | undefined
    try {
      stream = await connection.newStream(this.protocol, { signal, runOnLimitedConnection: true })
      const lp = lpStream(stream, { maxDataLength: MAX_EXCHANGE_FRAME })
      await lp.write(await this.encode(PresenceMessage.Type.ANNOUNCE, lists), { signal })
      if (lists) await writeMembers(lp, this.relay.digests(), { signal })
      const reply = await readCard(lp, { signal })
      this.apply(peerId, reply.msg, 'direct', reply.raw)
      if (lists && reply.msg.memberList === true) {
        const theirs = parseDigests(await readMembers(lp, { signal }))
        await readRelays(lp, (cards) => this.acceptRelayed(peerId, cards), { signal })
        await writeRelays(lp, await this.relay.relayFor(peerId.toString(), theirs), { signal })
      }
      await stream.close({ signal })
    } catch (err) {
      stream?.abort(err as Error)
      this.reportInvalid(peerId, err, 'direct')
    }
  }

  /** A member-list exchange with one connected peer, chosen at random (MemberSync). */
  private async syncWithOne(): Promise<void> {
    const open = this.components.connectionManager.getConnections().filter((c) => c.status === 'open')
    const connection = open[Math.floor(Math.random() * open.length)]
    if (connection != null) await this.exchange(connection.remotePeer, connection, true)
  }

  /** The answering side of exchange(), or a LEAVE notice. */
  private async handleStream(stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.timeout)
    const remote = connection.remotePeer
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_EXCHANGE_FRAME })
      const { msg, raw } = await readCard(lp, { signal })
      const lists = msg.type === PresenceMessage.Type.ANNOUNCE && msg.memberList === true
      const theirs = lists ? parseDigests(await readMembers(lp, { signal })) : undefined
      this.apply(remote, msg, 'direct', raw)
      if (msg.type === PresenceMessage.Type.ANNOUNCE && !this.stopping) {
        await lp.write(await this.encode(PresenceMessage.Type.ANNOUNCE, lists), { signal })
        if (theirs != null) {
          await writeMembers(lp, this.relay.digests(), { signal })
          await writeRelays(lp, await this.relay.relayFor(remote.toString(), theirs), { signal })
          await readRelays(lp, (cards) => this.acceptRelayed(remote, cards), { signal })
        }
      }
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err as Error)
      this.reportInvalid(connection.remotePeer, err, 'direct')
    }
  }

  private validate(_propagationSource: PeerId, msg: Message): TopicValidatorResult {
    try {
      if (msg.type !== 'signed') return TopicValidatorResult.Reject
      if (msg.data.byteLength > MAX_MESSAGE_SIZE)
        throw new InvalidCardError(`message of ${msg.data.byteLength} bytes`)
      checkMessage(decodeMessage(msg.data))
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
    if (via === 'gossip' && msg.suspects.length > 0) this.applySuspects(from, msg)
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
