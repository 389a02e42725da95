// Member lists and relayed cards: what the direct exchange adds so a node that connects learns every
// member its peer knows at once, instead of every member re-announcing itself to the whole mesh.
import { createHash } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { decodeStrict } from '../strings.js'
import { validateCard } from './card.js'
import {
  MAX_MEMBER_DIGESTS,
  MAX_MESSAGE_SIZE,
  MAX_RELAY_BYTES,
  MAX_RELAYED_CARDS,
  MEMBER_DIGEST_LENGTH,
} from './constants.js'
import { InvalidCardError } from './errors.js'
import { PresenceMessage, type RelayedCard } from './pb/presence.js'
import type { AnnounceResult, PeerRecord, PeerTable, StatusChange } from './peer-table.js'
import { checkStored, verifySigned } from './signed.js'

const MAX_AGE = 0xffff_ffff

/** A member's digest in the list: the first 8 bytes of SHA-256 of its PeerId string. */
export function memberDigest(id: string): Uint8Array {
  return createHash('sha256').update(id).digest().subarray(0, MEMBER_DIGEST_LENGTH)
}

/** The digests of a peer's member list, as hex; throws InvalidCardError for a list over the limit. */
export function parseDigests(bytes: Uint8Array): Set<string> {
  if (bytes.byteLength % MEMBER_DIGEST_LENGTH !== 0)
    throw new InvalidCardError(`member list of ${bytes.byteLength} bytes is not whole digests`)
  const count = bytes.byteLength / MEMBER_DIGEST_LENGTH
  if (count > MAX_MEMBER_DIGESTS)
    throw new InvalidCardError(`member list of ${count} members (at most ${MAX_MEMBER_DIGESTS})`)
  const out = new Set<string>()
  for (let i = 0; i < bytes.byteLength; i += MEMBER_DIGEST_LENGTH) {
    out.add(Buffer.from(bytes.subarray(i, i + MEMBER_DIGEST_LENGTH)).toString('hex'))
  }
  return out
}

/** Bytes a relayed card counts against MAX_RELAY_BYTES. */
export function relayedSize(card: RelayedCard): number {
  return card.author.byteLength + card.message.byteLength + card.signature.byteLength
}

/** A relayed card that was applied: what Presence reports. */
export interface RelayOutcome {
  record: PeerRecord
  result: AnnounceResult
  change?: StatusChange
}

export class MemberRelay {
  /** digest (hex and bytes) per member, computed once */
  private readonly digestCache = new Map<string, { hex: string; bytes: Uint8Array }>()

  constructor(
    private readonly table: PeerTable,
    private readonly now: () => number,
  ) {}

  private digest(id: string): { hex: string; bytes: Uint8Array } {
    let d = this.digestCache.get(id)
    if (d == null) {
      const bytes = memberDigest(id)
      d = { hex: Buffer.from(bytes).toString('hex'), bytes }
      this.digestCache.set(id, d)
    }
    return d
  }

  /** The members this node lists as online, most recently heard from first, bounded. */
  digests(): Uint8Array {
    const online = this.table
      .list()
      .filter((r) => this.table.status(r) === 'online')
      .sort((a, b) => b.lastSeen - a.lastSeen)
      .slice(0, MAX_MEMBER_DIGESTS)
    const out = new Uint8Array(online.length * MEMBER_DIGEST_LENGTH)
    online.forEach((r, i) => {
      out.set(this.digest(r.id).bytes, i * MEMBER_DIGEST_LENGTH)
    })
    for (const id of this.digestCache.keys()) if (this.table.get(id) == null) this.digestCache.delete(id)
    return out
  }

  /**
   * Signed cards of members not offline (online or stale, never left) that `remote` does not list,
   * each with how long ago this node last heard from its author; the most recent first, bounded.
   * Only signatures that verify are relayed.
   */
  async relayFor(remote: string, theirs: Set<string>): Promise<RelayedCard[]> {
    const candidates = this.table
      .list()
      .filter(
        (r) =>
          r.signed != null &&
          r.id !== remote &&
          r.leftAt == null &&
          r.signed.message.byteLength <= MAX_MESSAGE_SIZE &&
          this.table.status(r) !== 'offline' &&
          !theirs.has(this.digest(r.id).hex),
      )
      .sort((a, b) => b.lastSeen - a.lastSeen)
    const out: RelayedCard[] = []
    let bytes = 0
    for (const r of candidates) {
      if (out.length >= MAX_RELAYED_CARDS) break
      const signed = r.signed!
      const author = peerIdFromString(r.id).toMultihash().bytes
      if (!(await checkStored(author, signed))) continue
      const card: RelayedCard = {
        author: author as Uint8Array<ArrayBuffer>,
        message: signed.message as Uint8Array<ArrayBuffer>,
        signature: signed.signature as Uint8Array<ArrayBuffer>,
        age: Math.min(MAX_AGE, Math.max(0, Math.round(this.now() - r.lastSeen))),
      }
      if (bytes + relayedSize(card) > MAX_RELAY_BYTES) break
      bytes += relayedSize(card)
      out.push(card)
    }
    return out
  }

  /**
   * Applies cards relayed by `remote`: each must carry its author's valid signature and pass the same
   * checks as a card its author sends; cards about this node or about `remote` are ignored, and so is
   * anything that does not decode or pass the card checks (a relayer of another version may hold
   * cards with rules of its own: they are simply not taken). Returns what changed, and how many cards
   * carried a signature that does not verify: a relayer checks every signature before it relays, so
   * those are forged (the caller reports the relayer).
   */
  async accept(
    self: string,
    remote: string,
    cards: RelayedCard[],
  ): Promise<{ applied: RelayOutcome[]; forged: number }> {
    const applied: RelayOutcome[] = []
    let forged = 0
    for (const c of cards) {
      if (c.message.byteLength > MAX_MESSAGE_SIZE) continue
      const checked = await verifySigned(c.author, c.message, c.signature)
      if (checked == null) continue
      if (!checked.valid) {
        forged++
        continue
      }
      if (checked.author === self || checked.author === remote) continue
      let msg: PresenceMessage
      try {
        msg = decodeStrict(PresenceMessage, c.message)
        if (msg.type !== PresenceMessage.Type.ANNOUNCE || msg.card == null) continue
        validateCard(msg.card)
      } catch {
        continue
      }
      const signed = { message: c.message, signature: c.signature, verified: true }
      const lastSeen = this.now() - c.age
      const { result, change } = this.table.relayed(checked.author, msg.card, msg.seq, lastSeen, signed)
      if (result === 'ignored') continue
      applied.push({ record: this.table.get(checked.author)!, result, change })
    }
    return { applied, forged }
  }
}

/** Member-list syncs with one connected peer: this often for the first minute after start… */
export const EARLY_SYNC_INTERVAL = 3_000
export const EARLY_SYNC_FOR = 60_000
/**
 * …then once per this many heartbeat intervals. Heartbeats carry whole cards, so a member whose join
 * was missed is listed at its next heartbeat anyway; the sync is the safety net for a node that keeps
 * missing someone's gossip, and each one is a stream with a signed card each way (issue 17: at once per
 * interval, member syncs cost a 20-node mesh about 7 % of its idle CPU).
 */
export const STEADY_SYNC_HEARTBEATS = 8

/**
 * Runs `sync` (a member-list exchange with one connected peer) now and then: every few seconds in the
 * first minute, when a node's view is most likely incomplete (a member's one gossip announcement may
 * have reached it before it was in the gossip mesh), then once per STEADY_SYNC_HEARTBEATS heartbeat
 * intervals, which stretch with the mesh, so the bytes of member lists a node sends per minute stay
 * bounded whatever its size.
 */
export class MemberSync {
  private timer?: ReturnType<typeof setTimeout>
  private readonly startedAt: number

  constructor(
    private readonly sync: () => Promise<void>,
    private readonly heartbeatInterval: () => number,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now()
  }

  start(): void {
    this.schedule()
  }

  stop(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private schedule(): void {
    const early = this.now() - this.startedAt < EARLY_SYNC_FOR
    const base = early ? EARLY_SYNC_INTERVAL : this.heartbeatInterval() * STEADY_SYNC_HEARTBEATS
    // jitter, so the members of a mesh started together do not sync in step
    this.timer = setTimeout(
      () => {
        void this.sync()
          .catch(() => {})
          .finally(() => {
            if (this.timer != null) this.schedule()
          })
      },
      Math.round(base * (0.75 + Math.random() / 2)),
    )
    this.timer.unref?.()
  }
}
