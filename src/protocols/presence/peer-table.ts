// What this node knows of other agents, and their status over time. Pure state: the clock is injected,
// so the online → stale → offline machine is tested without waiting.
import { SUSPECT_OFFLINE_AFTER } from './constants.js'
import type { AgentCard } from './pb/presence.js'
import type { SignedCard } from './signed.js'

export type PeerStatus = 'online' | 'stale' | 'offline'

export interface PresenceTimings {
  /** No heartbeat for this long: stale (at full rate, see fullRateMembers). */
  staleAfter: number
  /** Stale for this long more: offline (at full rate). */
  offlineAfter: number
  /**
   * Up to this many members (this node included) heartbeats go at full rate and the thresholds are as
   * given. Above it every interval and threshold is stretched by members / fullRateMembers, so the
   * mesh-wide heartbeat rate, which every node receives, stays at most fullRateMembers per interval.
   */
  fullRateMembers?: number
  /** A suspected peer (see PeerTable.suspect) that does not answer is offline this long after (not stretched). */
  suspectOfflineAfter?: number
}

/**
 * Members up to which presence paces as configured (the node's defaults: 30 s heartbeat, 120 s stale):
 * the mesh hears at most 10 heartbeats a minute, whatever its size. Heartbeats are the backstop of
 * liveness, not its main signal: a peer that dies is found by its neighbours, whose links to it break,
 * and suspected mesh-wide at once (PeerTable.suspect; issue 17: at 40 a minute, presence gossip was half
 * of an idle node's frames).
 */
export const FULL_RATE_MEMBERS = 5

export interface PeerRecord {
  id: string
  card: AgentCard
  /** Orders messages of one run of the peer; with card.startedAt it only grows. */
  seq: bigint
  /** Local clock, ms: when we last heard from the peer. */
  lastSeen: number
  /** Local clock, ms: when the peer said it was leaving (cleared when it comes back). */
  leftAt?: number
  /** The message behind `card` as its author signed it (absent from older nodes): what we relay. */
  signed?: SignedCard
  /**
   * A neighbour lost its link to the peer and could not dial it back, at this message of the peer (its
   * run and seq): the peer is stale until it announces a newer one, and offline if it does not in time.
   * `at` is the local clock when we first heard of it, `by` the PeerId that said so.
   */
  suspected?: { at: number; startedAt: bigint; seq: bigint; by: string }
}

export type AnnounceResult = 'new' | 'updated' | 'refreshed' | 'ignored'

export interface StatusChange {
  record: PeerRecord
  from: PeerStatus | 'unknown'
  to: PeerStatus
}

export type StatusReason = 'joined' | 'back' | 'silent' | 'unreachable' | 'left' | 'timed_out'

/**
 * Why a peer's status changed: online as `joined` (first seen) or `back`; stale as `silent` (no
 * heartbeat in time) or `unreachable` (suspected: a neighbour lost its link to it); offline as `left`,
 * `unreachable` or `timed_out`.
 */
export function statusReason({ record, from, to }: StatusChange): StatusReason {
  if (to === 'online') return from === 'unknown' ? 'joined' : 'back'
  if (to === 'offline' && record.leftAt != null) return 'left'
  if (record.suspected != null) return 'unreachable'
  return to === 'stale' ? 'silent' : 'timed_out'
}

/** The stretch (>= 1) of presence's pace with `members` known: see PresenceTimings.fullRateMembers. */
export function paceStretch(members: number, fullRateMembers = FULL_RATE_MEMBERS): number {
  return Math.max(1, members / fullRateMembers)
}

/** (startedAt, seq) of b is newer than of a */
function newer(a: { card: AgentCard; seq: bigint }, startedAt: bigint, seq: bigint): number {
  return order(a.card.startedAt, a.seq, startedAt, seq)
}

/** 1 if (startedAt, seq) is after (aStarted, aSeq), -1 if before, 0 if the same message */
function order(aStarted: bigint, aSeq: bigint, startedAt: bigint, seq: bigint): number {
  if (startedAt !== aStarted) return startedAt > aStarted ? 1 : -1
  if (seq !== aSeq) return seq > aSeq ? 1 : -1
  return 0
}

/** Whether two cards offer the same (hosted agents aside: they come with a heartbeat age that moves). */
export function sameCard(a: AgentCard, b: AgentCard): boolean {
  return (
    a.name === b.name &&
    a.description === b.description &&
    a.machine === b.machine &&
    a.version === b.version &&
    a.load === b.load &&
    a.relayOnly === b.relayOnly &&
    (a.hub ?? false) === (b.hub ?? false) &&
    a.caps.join('\n') === b.caps.join('\n') &&
    a.addrs.length === b.addrs.length &&
    a.addrs.every((x, i) => Buffer.compare(x, b.addrs[i]!) === 0)
  )
}

export class PeerTable {
  private readonly peers = new Map<string, PeerRecord>()
  /** Status each peer had at the last sweep, to report transitions once. */
  private readonly reported = new Map<string, PeerStatus>()
  /** Peers in `reported` whose status there is not offline. */
  private notOffline = 0

  constructor(
    private readonly timings: PresenceTimings,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Members this node counts: itself and every peer not offline as of the last report (the status
   * tracked at the last sweep or message, so the count does not depend on the stretch it sets).
   */
  members(): number {
    return 1 + this.notOffline
  }

  /** Keeps `reported` and its count of peers not offline together. */
  private report(id: string, status: PeerStatus | undefined): void {
    const before = this.reported.get(id)
    if (before != null && before !== 'offline') this.notOffline--
    if (status == null) this.reported.delete(id)
    else {
      this.reported.set(id, status)
      if (status !== 'offline') this.notOffline++
    }
  }

  /** Factor (>= 1) by which the heartbeat interval and the stale and offline times are stretched. */
  stretch(): number {
    return paceStretch(this.members(), this.timings.fullRateMembers)
  }

  /** The heartbeat interval for `base` at the current member count. */
  heartbeatInterval(base: number): number {
    return Math.round(base * this.stretch())
  }

  /** The stale and offline times at the current member count. */
  currentTimings(): { staleAfter: number; offlineAfter: number } {
    const k = this.stretch()
    return {
      staleAfter: Math.round(this.timings.staleAfter * k),
      offlineAfter: Math.round(this.timings.offlineAfter * k),
    }
  }

  status(record: PeerRecord): PeerStatus {
    if (record.leftAt != null) return 'offline'
    const age = this.now() - record.lastSeen
    const { staleAfter, offlineAfter } = this.currentTimings()
    const silent = age < staleAfter ? 'online' : age < staleAfter + offlineAfter ? 'stale' : 'offline'
    if (record.suspected == null || silent === 'offline') return silent
    const suspectFor = this.timings.suspectOfflineAfter ?? SUSPECT_OFFLINE_AFTER
    return this.now() - record.suspected.at < suspectFor ? 'stale' : 'offline'
  }

  get(id: string): PeerRecord | undefined {
    return this.peers.get(id)
  }

  list(): PeerRecord[] {
    return [...this.peers.values()]
  }

  /** Loads peers remembered from an earlier run; their status follows from their last-seen time. */
  restore(records: PeerRecord[]): void {
    for (const r of records) {
      if (!this.peers.has(r.id)) {
        this.peers.set(r.id, r)
        this.report(r.id, this.status(r))
      }
    }
  }

  /** Applies a card the peer itself sent (directly or signed in gossip). Older messages are ignored. */
  announce(
    id: string,
    card: AgentCard,
    seq: bigint,
    signed?: SignedCard,
  ): { result: AnnounceResult; change?: StatusChange } {
    const existing = this.peers.get(id)
    if (existing != null) {
      const order = newer(existing, card.startedAt, seq)
      if (order < 0) return { result: 'ignored' }
      if (order === 0 && existing.leftAt != null) return { result: 'ignored' }
    }
    return this.put(existing, { id, card, seq, lastSeen: this.now(), signed })
  }

  /**
   * Applies a card another node relayed, last heard from by that node at `lastSeen` (local clock). Same
   * ordering as announce(), and more: a relay never makes a peer look more recently heard from than the
   * relayer did, never brings in one that is already offline by that time, never brings back a peer
   * that left unless the card is newer than its leave, and never answers a suspicion with a card the
   * relayer heard before the suspicion began (the peer was alive then, which the suspicion does not deny).
   */
  relayed(
    id: string,
    card: AgentCard,
    seq: bigint,
    lastSeen: number,
    signed: SignedCard,
  ): { result: AnnounceResult; change?: StatusChange } {
    const seen = Math.min(lastSeen, this.now())
    const existing = this.peers.get(id)
    if (existing != null) {
      const order = newer(existing, card.startedAt, seq)
      if (order < 0 || (order === 0 && existing.leftAt != null)) return { result: 'ignored' }
      if (order === 0) {
        // the card we hold: only the time we last heard of it can move, and only forward
        if (seen <= existing.lastSeen) return { result: 'ignored' }
        existing.lastSeen = seen
        existing.signed ??= signed
        return { result: 'refreshed', change: this.track(existing) }
      }
    }
    const lastHeard = existing != null && existing.leftAt == null ? Math.max(seen, existing.lastSeen) : seen
    const record: PeerRecord = { id, card, seq, lastSeen: lastHeard, signed }
    if (this.status(record) === 'offline') return { result: 'ignored' }
    return this.put(existing, record, seen)
  }

  /**
   * `by` lost its link to the peer and could not dial it back; it held the peer's message (startedAt,
   * seq). Unless we have heard a newer message of the peer, it is stale from now until it announces one.
   * Returns whether the suspicion is news (not one we already hold at that message or later).
   */
  suspect(
    id: string,
    startedAt: bigint,
    seq: bigint,
    by: string,
  ): { applied: boolean; change?: StatusChange } {
    const record = this.peers.get(id)
    if (record == null || record.leftAt != null) return { applied: false }
    // the peer spoke after the message the suspicion is about: it answered already
    if (newer(record, startedAt, seq) < 0) return { applied: false }
    const held = record.suspected
    if (held != null && order(held.startedAt, held.seq, startedAt, seq) <= 0) return { applied: false }
    record.suspected = { at: held?.at ?? this.now(), startedAt, seq, by }
    return { applied: true, change: this.track(record) }
  }

  /** `heardAt`: when the card was heard, by us or by the node that relayed it (local clock). */
  private put(
    existing: PeerRecord | undefined,
    record: PeerRecord,
    heardAt = this.now(),
  ): { result: AnnounceResult; change?: StatusChange } {
    const { id, card } = record
    // A suspicion holds until the peer is heard, after it began, with a message after the one it was
    // about. Member lists relay cards heard seconds ago: a dead peer's last message, newer than the one
    // the suspicion was about, would bring it back online for a moment (seen in peer-lost under load).
    const held = existing?.suspected
    if (
      held != null &&
      (order(held.startedAt, held.seq, card.startedAt, record.seq) <= 0 || heardAt < held.at)
    )
      record.suspected = held
    this.peers.set(id, record)
    const change = this.track(record)
    if (existing == null) return { result: 'new', change }
    return { result: sameCard(existing.card, card) ? 'refreshed' : 'updated', change }
  }

  /** The peer says it is leaving. Only a message at least as new as what we hold counts. */
  leave(id: string, startedAt: bigint, seq: bigint): StatusChange | undefined {
    const existing = this.peers.get(id)
    if (existing == null) return undefined
    const order = newer(existing, startedAt, seq)
    if (order < 0) return undefined
    if (order > 0) {
      // Remember the position of the leave (its run too), so older messages of that run stay ignored.
      if (startedAt !== existing.card.startedAt) existing.card = { ...existing.card, startedAt }
      existing.seq = seq
    }
    existing.leftAt = this.now()
    existing.lastSeen = existing.leftAt
    return this.track(existing)
  }

  /** Status transitions that happened through time alone since the last sweep. */
  sweep(): StatusChange[] {
    const changes: StatusChange[] = []
    for (const record of this.peers.values()) {
      const change = this.track(record)
      if (change != null) changes.push(change)
    }
    return changes
  }

  /** Drops peers offline for longer than `forgetAfter` ms. */
  forget(forgetAfter: number): string[] {
    const gone: string[] = []
    const horizon = this.now() - forgetAfter
    for (const [id, record] of this.peers) {
      if (record.lastSeen < horizon && this.status(record) === 'offline') {
        this.peers.delete(id)
        this.report(id, undefined)
        gone.push(id)
      }
    }
    return gone
  }

  private track(record: PeerRecord): StatusChange | undefined {
    const to = this.status(record)
    const from = this.reported.get(record.id) ?? 'unknown'
    if (from === to) return undefined
    this.report(record.id, to)
    return { record, from, to }
  }
}
