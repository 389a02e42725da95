// The frames of the direct exchange (docs/protocol.md, Presence): a card each way, then, when both sides
// speak it, a member list each way and the signed cards of the members the other side lacks.
import type { AbortOptions, Connection } from '@libp2p/interface'
import { type LengthPrefixedStream, lpStream } from '@libp2p/utils'
import { decodeStrict } from '../strings.js'
import { checkMessage } from './card.js'
import {
  MAX_EXCHANGE_FRAME,
  MAX_MESSAGE_SIZE,
  MAX_RELAY_BYTES,
  MAX_RELAY_FRAMES,
  MAX_RELAYED_CARDS,
} from './constants.js'
import { InvalidCardError } from './errors.js'
import { relayedSize } from './members.js'
import { MemberList, PresenceMessage, RelayBatch, type RelayedCard } from './pb/presence.js'

/** Room left in a frame for the batch's own fields and each card's tags and lengths. */
const FRAME_OVERHEAD = 16
const CARD_OVERHEAD = 24

/** Decodes a message a peer sent; anything that is not one is an InvalidCardError. */
export function decodeMessage(bytes: Uint8Array): PresenceMessage {
  try {
    return decodeStrict(PresenceMessage, bytes)
  } catch (err) {
    throw new InvalidCardError(`malformed presence message: ${(err as Error).message}`)
  }
}

/** Reads a peer's own card frame: at most MAX_MESSAGE_SIZE, even though other frames may be larger. */
export async function readCard(
  lp: LengthPrefixedStream,
  options: AbortOptions,
): Promise<{ msg: PresenceMessage; raw: Uint8Array }> {
  const raw = (await lp.read(options)).subarray()
  if (raw.byteLength > MAX_MESSAGE_SIZE) {
    throw new InvalidCardError(
      `presence message of ${raw.byteLength} bytes is too large (at most ${MAX_MESSAGE_SIZE})`,
    )
  }
  return { msg: decodeMessage(raw), raw }
}

export async function writeMembers(lp: LengthPrefixedStream, digests: Uint8Array, options: AbortOptions) {
  await lp.write(MemberList.encode({ digests: digests as Uint8Array<ArrayBuffer> }), options)
}

export async function readMembers(lp: LengthPrefixedStream, options: AbortOptions): Promise<Uint8Array> {
  const bytes = await lp.read(options)
  try {
    return decodeStrict(MemberList, bytes).digests
  } catch (err) {
    throw new InvalidCardError(`malformed member list: ${(err as Error).message}`)
  }
}

/** Sends `cards` in frames of at most MAX_EXCHANGE_FRAME bytes; the last frame (maybe empty) says so. */
export async function writeRelays(
  lp: LengthPrefixedStream,
  cards: RelayedCard[],
  options: AbortOptions,
): Promise<void> {
  let batch: RelayedCard[] = []
  let size = FRAME_OVERHEAD
  for (const card of cards) {
    const n = relayedSize(card) + CARD_OVERHEAD
    if (batch.length > 0 && size + n > MAX_EXCHANGE_FRAME) {
      await lp.write(RelayBatch.encode({ cards: batch, last: false }), options)
      batch = []
      size = FRAME_OVERHEAD
    }
    batch.push(card)
    size += n
  }
  await lp.write(RelayBatch.encode({ cards: batch, last: true }), options)
}

/**
 * Reads the other side's relayed cards, handing each frame to `accept` as it comes. Throws
 * InvalidCardError past any limit (frames, cards, bytes): the sender broke the protocol.
 */
export async function readRelays(
  lp: LengthPrefixedStream,
  accept: (cards: RelayedCard[]) => Promise<void>,
  options: AbortOptions,
): Promise<void> {
  let cards = 0
  let bytes = 0
  for (let frames = 1; ; frames++) {
    if (frames > MAX_RELAY_FRAMES)
      throw new InvalidCardError(`more than ${MAX_RELAY_FRAMES} frames of relayed cards`)
    let batch: RelayBatch
    try {
      batch = decodeStrict(RelayBatch, await lp.read(options), { limits: { cards: MAX_RELAYED_CARDS } })
    } catch (err) {
      if (err instanceof Error && err.name === 'InvalidDataLengthError') throw err
      throw new InvalidCardError(`malformed relayed cards: ${(err as Error).message}`)
    }
    cards += batch.cards.length
    for (const c of batch.cards) bytes += relayedSize(c)
    if (cards > MAX_RELAYED_CARDS) throw new InvalidCardError(`more than ${MAX_RELAYED_CARDS} relayed cards`)
    if (bytes > MAX_RELAY_BYTES)
      throw new InvalidCardError(`more than ${MAX_RELAY_BYTES} bytes of relayed cards`)
    await accept(batch.cards)
    if (batch.last) return
  }
}

/** Writes a LEAVE to each connection on a stream of its own (no reply); settles when all are done. */
export async function sendLeave(
  connections: Connection[],
  protocol: string,
  leave: Uint8Array,
  signal: AbortSignal,
): Promise<void> {
  const sends = connections.map(async (connection) => {
    const stream = await connection.newStream(protocol, { signal, runOnLimitedConnection: true })
    try {
      await lpStream(stream, { maxDataLength: MAX_MESSAGE_SIZE }).write(leave, { signal })
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  })
  await Promise.allSettled(sends)
}

/** Checks a gossiped presence message before gossipsub accepts it (size, decoding, card, suspects). */
export function checkGossip(data: Uint8Array): void {
  if (data.byteLength > MAX_MESSAGE_SIZE) throw new InvalidCardError(`message of ${data.byteLength} bytes`)
  checkMessage(decodeMessage(data))
}
