import type { Message, SubscriptionChangeData } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { TypedEventEmitter } from 'main-event'
import type { Uint8ArrayList } from 'uint8arraylist'
import { decodeStrict } from '../strings.js'
import { validateCard } from './card.js'
import {
  ANNOUNCE_DEBOUNCE,
  HEARTBEAT_INTERVAL,
  MAX_ADDR_LENGTH,
  MAX_ADDRS,
  MAX_INBOUND_STREAMS,
  MAX_MESSAGE_SIZE,
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
import type { KnownPeer, LocalCard, PresenceComponents, PresenceEvents, PresenceInit } from './index.js'
import { type AgentCard, PresenceMessage } from './pb/presence.js'
import { type PeerRecord, type PeerStatus, PeerTable } from './peer-table.js'

/**
 * Presence: who is in the mesh. Cards are exchanged over a direct stream on every new connection (so a
 * peer is listed the moment it connects) and gossiped with heartbeats (so peers reached only through
 * others are listed too). A peer speaks only for itself: its id comes from the connection or signature.
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
  private heartbeatTimer?: ReturnType<typeof setTimeout>
  private sweepTimer?: ReturnType<typeof setInterval>
  private topologyId?: string
  private announceSoonTimer?: ReturnType<typeof setTimeout>

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
    }
    this.table = new PeerTable(timings, now)
    this.sweepInterval = Math.max(100, Math.min(5_000, Math.floor(timings.staleAfter / 4)))
    this.table.restore((init.known ?? []).map(fromKnown).filter((r): r is PeerRecord => r != null))
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
    })
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
  }

  /** Tells peers we are leaving while the connections are still up, so they see us go at once. */
  async beforeStop(): Promise<void> {
    this.stopping = true
    clearTimeout(this.heartbeatTimer)
    clearInterval(this.sweepTimer)
    clearTimeout(this.announceSoonTimer)
    const leave = this.message(PresenceMessage.Type.LEAVE)
    const signal = AbortSignal.timeout(Math.min(this.timeout, 2_000))
    const direct = this.components.connectionManager.getConnections().map(async (connection) => {
      const stream = await connection.newStream(this.protocol, { signal, runOnLimitedConnection: true })
      try {
        await lpStream(stream, { maxDataLength: MAX_MESSAGE_SIZE }).write(PresenceMessage.encode(leave), {
          signal,
        })
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
    if (this.topologyId != null) registrar.unregister(this.topologyId)
    await registrar.unhandle(this.protocol)
    pubsub.removeEventListener('message', this.onGossip)
    pubsub.removeEventListener('subscription-change', this.onSubscriptionChange)
    pubsub.topicValidators.delete(this.topic)
    try {
      pubsub.unsubscribe(this.topic)
    } catch {}
    this.started = false
  }

  /**
   * Publishes this node's card now (start, heartbeat, card change) and schedules the next heartbeat one
   * interval later. The interval grows with the members known (PeerTable.heartbeatInterval), so the
   * mesh's heartbeats, which reach every node, stay a bounded number per minute whatever its size.
   */
  async announce(): Promise<void> {
    if (!this.started || this.stopping) return
    clearTimeout(this.heartbeatTimer)
    this.heartbeatTimer = setTimeout(
      () => void this.announce(),
      this.table.heartbeatInterval(this.heartbeatInterval),
    )
    await this.publish(this.message(PresenceMessage.Type.ANNOUNCE))
  }

  /** The heartbeat interval and the stale and offline times in force now (stretched in a large mesh). */
  timings(): { heartbeatInterval: number; staleAfter: number; offlineAfter: number } {
    return {
      heartbeatInterval: this.table.heartbeatInterval(this.heartbeatInterval),
      ...this.table.currentTimings(),
    }
  }

  /**
   * Announces shortly, coalescing triggers. Used when a peer joins our topic or comes online: our card
   * then reaches peers that know us only through others, without waiting for the next heartbeat.
   */
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

  /** Status changes through time alone (online → stale → offline). */
  sweep(): void {
    for (const change of this.table.sweep()) this.safeDispatch('peer:status', change)
  }

  private message(type: PresenceMessage.Type): PresenceMessage {
    this.seq++
    return { type, card: this.localCard(), seq: this.seq }
  }

  private async publish(msg: PresenceMessage): Promise<void> {
    try {
      await this.components.pubsub.publish(this.topic, PresenceMessage.encode(msg))
    } catch (err) {
      this.log('could not publish presence - %e', err)
    }
  }

  private async exchange(peerId: PeerId, connection: Connection): Promise<void> {
    if (!this.started || this.stopping) return
    const signal = AbortSignal.timeout(this.timeout)
    let stream: Stream | undefined
    try {
      stream = await connection.newStream(this.protocol, { signal, runOnLimitedConnection: true })
      const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_SIZE })
      await lp.write(PresenceMessage.encode(this.message(PresenceMessage.Type.ANNOUNCE)), { signal })
      const reply = decodeMessage(await lp.read({ signal }))
      await stream.close({ signal })
      this.apply(peerId, reply, 'direct')
    } catch (err) {
      stream?.abort(err as Error)
      this.reportInvalid(peerId, err, 'direct')
    }
  }

  private async handleStream(stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.timeout)
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_SIZE })
      const msg = decodeMessage(await lp.read({ signal }))
      this.apply(connection.remotePeer, msg, 'direct')
      if (msg.type === PresenceMessage.Type.ANNOUNCE && !this.stopping) {
        await lp.write(PresenceMessage.encode(this.message(PresenceMessage.Type.ANNOUNCE)), { signal })
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

  private onSubscriptionChange(evt: CustomEvent<SubscriptionChangeData>): void {
    if (evt.detail.subscriptions.some((s) => s.topic === this.topic && s.subscribe)) this.announceSoon()
  }

  private onGossip(evt: CustomEvent<Message>): void {
    const msg = evt.detail
    if (msg.topic !== this.topic || msg.type !== 'signed') return
    if (msg.from.equals(this.components.peerId)) return
    try {
      this.apply(msg.from, decodeMessage(msg.data), 'gossip')
    } catch (err) {
      this.reportInvalid(msg.from, err, 'gossip')
    }
  }

  /** `from` is authenticated (connection or signature); the message speaks only for that peer. */
  private apply(from: PeerId, msg: PresenceMessage, via: 'direct' | 'gossip'): void {
    if (from.equals(this.components.peerId)) return
    const card = checkMessage(msg)
    const id = from.toString()
    if (msg.type === PresenceMessage.Type.LEAVE) {
      const change = this.table.leave(id, card.startedAt, msg.seq)
      if (change != null) this.safeDispatch('peer:status', change)
      return
    }
    const { result, change } = this.table.announce(id, card, msg.seq)
    if (result === 'ignored') return
    const record = this.table.get(id)!
    this.safeDispatch('peer:card', { record, result, via })
    if (change != null) {
      this.safeDispatch('peer:status', change)
      if (change.to === 'online') this.announceSoon()
    }
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

/** Decodes a message a peer sent; anything that is not one is an InvalidCardError. */
function decodeMessage(bytes: Uint8Array | Uint8ArrayList): PresenceMessage {
  try {
    return decodeStrict(PresenceMessage, bytes)
  } catch (err) {
    throw new InvalidCardError(`malformed presence message: ${(err as Error).message}`)
  }
}

/** Validates a decoded message and returns its card; throws InvalidCardError. */
function checkMessage(msg: PresenceMessage): AgentCard {
  if (msg.card == null) throw new InvalidCardError('presence message without a card')
  if (msg.type !== PresenceMessage.Type.ANNOUNCE && msg.type !== PresenceMessage.Type.LEAVE) {
    throw new InvalidCardError(`unknown presence message type ${String(msg.type)}`)
  }
  validateCard(msg.card)
  return msg.card
}

function fromKnown(known: KnownPeer): PeerRecord | undefined {
  try {
    const card: AgentCard = {
      name: known.name,
      caps: known.caps,
      description: known.description,
      machine: known.machine,
      version: known.version,
      startedAt: BigInt(known.startedAt),
      load: known.load,
      addrs: known.addrs as Uint8Array<ArrayBuffer>[],
      relayOnly: known.relayOnly,
    }
    validateCard(card)
    return { id: known.id, card, seq: 0n, lastSeen: known.lastSeen, leftAt: known.leftAt }
  } catch {
    return undefined
  }
}
