// The direct exchange on a connection (docs/protocol.md, Presence, On connect): a card each way, and, when
// both sides speak it, member lists and the signed cards of the members the other side lacks. The
// frames are in exchange.ts; what the cards do to the table is Presence's (the hooks below).
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { MAX_EXCHANGE_FRAME } from './constants.js'
import { readCard, readMembers, readRelays, writeMembers, writeRelays } from './exchange.js'
import { type MemberRelay, parseDigests } from './members.js'
import { PresenceMessage, type RelayedCard } from './pb/presence.js'

export interface CardExchangeInit {
  protocol: string
  /** time allowed for one exchange */
  timeout: number
  relay: MemberRelay
  /** presence runs and is not stopping: it starts exchanges */
  running: () => boolean
  /** presence is stopping: it answers announcements no more */
  stopping: () => boolean
  /** this node's next message, signed, with the member-list flag */
  encode: (type: PresenceMessage.Type, memberList: boolean) => Promise<Uint8Array>
  /** a message the peer sent (its card, or a LEAVE), with the bytes as received */
  apply: (from: PeerId, msg: PresenceMessage, raw: Uint8Array) => void
  /** cards the peer relayed */
  acceptRelayed: (from: PeerId, cards: RelayedCard[]) => Promise<void>
  /** an exchange that failed (a bad frame is the peer's offence) */
  failed: (peer: PeerId, err: unknown) => void
}

export class CardExchange {
  constructor(private readonly init: CardExchangeInit) {
    this.answer = this.answer.bind(this)
  }

  /**
   * The dialling side: our card and member list, their card and member list, the cards they relay to us,
   * then those we relay to them. An older node answers with its card only (no member_list flag). Both
   * ends of a connection run this; only the end that opened the connection asks for member lists, so
   * cards are relayed once per connection (the other end's exchange is one card each way).
   */
  async dial(peerId: PeerId, connection: Connection, lists = connection.direction === 'outbound') {
    if (!this.init.running()) return
    const signal = AbortSignal.timeout(this.init.timeout)
    let stream: Stream | undefined
    try {
      stream = await connection.newStream(this.init.protocol, { signal, runOnLimitedConnection: true })
      const lp = lpStream(stream, { maxDataLength: MAX_EXCHANGE_FRAME })
      await lp.write(await this.init.encode(PresenceMessage.Type.ANNOUNCE, lists), { signal })
      if (lists) await writeMembers(lp, this.init.relay.digests(), { signal })
      const reply = await readCard(lp, { signal })
      this.init.apply(peerId, reply.msg, reply.raw)
      if (lists && reply.msg.memberList === true) {
        const theirs = parseDigests(await readMembers(lp, { signal }))
        await readRelays(lp, (cards) => this.init.acceptRelayed(peerId, cards), { signal })
        await writeRelays(lp, await this.init.relay.relayFor(peerId.toString(), theirs), { signal })
      }
      await stream.close({ signal })
    } catch (err) {
      stream?.abort(err as Error)
      this.init.failed(peerId, err)
    }
  }

  /** The answering side of dial(), or a LEAVE notice. */
  async answer(stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.init.timeout)
    const remote = connection.remotePeer
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_EXCHANGE_FRAME })
      const { msg, raw } = await readCard(lp, { signal })
      const lists = msg.type === PresenceMessage.Type.ANNOUNCE && msg.memberList === true
      const theirs = lists ? parseDigests(await readMembers(lp, { signal })) : undefined
      this.init.apply(remote, msg, raw)
      if (msg.type === PresenceMessage.Type.ANNOUNCE && !this.init.stopping()) {
        await lp.write(await this.init.encode(PresenceMessage.Type.ANNOUNCE, lists), { signal })
        if (theirs != null) {
          await writeMembers(lp, this.init.relay.digests(), { signal })
          await writeRelays(lp, await this.init.relay.relayFor(remote.toString(), theirs), { signal })
          await readRelays(lp, (cards) => this.init.acceptRelayed(remote, cards), { signal })
        }
      }
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err as Error)
      this.init.failed(connection.remotePeer, err)
    }
  }
}
