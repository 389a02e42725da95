// What this node knows of other agents, and their status over time. Pure state: the clock is injected,
// so the online → stale → offline machine is tested without waiting.
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
}

/** Members up to which presence paces as configured (the node's defaults: 30 s heartbeat, 120 s stale). */
export const FULL_RATE_MEMBERS = 20

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
}

export type AnnounceResult = 'new' | 'updated' | 'refreshed' | 'ignored'

export interface StatusChange {
  record: PeerRecord
  from: PeerStatus | 'unknown'
  to: PeerStatus
}

/** (startedAt, seq) of b is newer than of a */
function newer(a: { card: AgentCard; seq: bigint }, startedAt: bigint, seq: bigint): number {
  if (startedAt !== a.card.startedAt) return startedAt > a.card.startedAt ? 1 : -1
  if (seq !== a.seq) return seq > a.seq ? 1 : -1
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
    const full = this.timings.fullRateMembers ?? FULL_RATE_MEMBERS
    return Math.max(1, this.members() / full)
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
    if (age < staleAfter) return 'online'
    if (age < staleAfter + offlineAfter) return 'stale'
    return 'offline'
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
   * relayer did, never brings in one that is already offline by that time, and never brings back a peer
   * that left unless the card is newer than its leave.
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
    return this.put(existing, record)
  }

  private put(
    existing: PeerRecord | undefined,
    record: PeerRecord,
  ): { result: AnnounceResult; change?: StatusChange } {
    const { id, card } = record
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
