// Bounded degree: a node keeps connections to its ring neighbours (degree.ts), to hubs and relays, and
// to the bootstrap peers it was given, instead of to every peer mDNS or gossip reveals. Any other
// connection is on demand (a task, a blob fetch, a sync dialled a peer that is not a neighbour, or a
// peer dialled us): it carries a libp2p peer-store tag with a TTL, refreshed while a ClawLink protocol
// stream is open on it; once the tag has expired the side that dialled closes it. The libp2p connection
// manager's maxConnections (libp2p-config.ts) is the hard cap, and prunes the lowest tag value first.
import type { Connection, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { shortId } from '../api/short-id.js'
import type { NodeContext } from './context.js'
import { chooseNeighbours, type Member } from './degree.js'

/** Peer-store tags: a mesh neighbour outranks an on-demand peer when the connection manager prunes. */
export const MESH_TAG = 'clawlink-mesh'
export const ON_DEMAND_TAG = 'clawlink-on-demand'
/** A peer found by mDNS counts as a member this long before presence confirms it. */
const DISCOVERED_FOR = 10 * 60_000
/** Streams that every connection carries: they do not make a connection "in use". */
const BACKGROUND = /^\/(meshsub|floodsub|ipfs\/id|ipfs\/ping|libp2p\/dcutr|clawlink\/presence)\//
/**
 * Neighbours want each other (the ring is symmetric), and two that dial each other at once end up with
 * two connections, both kept: twice the pings, keep-alives and identify runs (docs/benchmarks.md,
 * Simulation). So of a pair the smaller peer id dials first; the other dials only if no connection
 * came within this long (the first may be unable to reach it).
 */
const DEFER_DIAL = 5_000
const DIAL_BACKOFF_MIN = 1_000
const DIAL_BACKOFF_MAX = 60_000

export interface DegreeInit {
  maxPeers: number
  /** how long an on-demand connection stays open once nothing uses it (ms) */
  idleGrace: number
}

export class DegreeKeeper {
  private readonly discoveredAt = new Map<string, number>()
  /** bootstrap peers and relays named on the command line: always kept */
  private readonly pinned = new Set<string>()
  private wanted = new Set<string>()
  private readonly meshTagged = new Set<string>()
  private readonly backoff = new Map<string, { at: number; delay: number }>()
  private readonly dialing = new Set<string>()
  /** wanted neighbours with a smaller id than ours that are not connected: since when (ms) */
  private readonly waitingSince = new Map<string, number>()
  private stopReviews?: () => void
  private soon?: ReturnType<typeof setTimeout>
  private reviewing = false
  private readonly onOpen = (evt: CustomEvent<Connection>) => this.opened(evt.detail.remotePeer)

  constructor(
    private readonly node: NodeContext,
    private readonly init: DegreeInit,
    /** a discovered peer could not be dialled (logged once by the caller) */
    private readonly onDialFailed: (peer: string, err: Error, discovered: boolean) => void,
  ) {}

  start(): void {
    this.node.libp2p.addEventListener('connection:open', this.onOpen)
    const every = Math.min(5_000, Math.max(250, Math.floor(this.init.idleGrace / 2)))
    this.stopReviews = this.node.ticker.every(every, () => void this.review())
    this.reviewSoon()
  }

  stop(): void {
    this.node.libp2p.removeEventListener('connection:open', this.onOpen)
    this.stopReviews?.()
    clearTimeout(this.soon)
  }

  /** mDNS found this peer: a member now, dialled if it is a neighbour. */
  discovered(peer: string): void {
    this.discoveredAt.set(peer, Date.now())
    this.reviewSoon()
  }

  /** Keep this peer whatever the ring says (a --peer or --relay target). */
  pin(peer: string): void {
    this.pinned.add(peer)
  }

  /** Whether this node keeps a connection to `peer` (so it is worth redialling). */
  wants(peer: string): boolean {
    if (this.wanted.has(peer) || this.pinned.has(peer)) return true
    // a node with no connection at all (restarted without mDNS, say) takes any peer it remembers
    if (this.node.libp2p.getConnections().length === 0) return true
    const record = this.node.presence.peer(peer)
    return record?.card.relayOnly === true || record?.card.hub === true
  }

  /** Whether some neighbour is connected: the node is part of the mesh (its ways in are not needed). */
  joined(): boolean {
    for (const id of this.wanted) if (this.node.isConnected(id)) return true
    return false
  }

  /** Neighbours this node wants but failed to dial: part of the mesh it cannot reach directly. */
  unreachable(): string[] {
    return [...this.wanted].filter((id) => this.backoff.has(id) && !this.node.isConnected(id))
  }

  /** A peer announced new addresses (a relayed one, say): dial it again without waiting out its backoff. */
  addrsChanged(peer: string): void {
    if (!this.backoff.delete(peer)) return
    this.reviewSoon()
  }

  /** Connected peers that are not kept: their connections are on demand. */
  onDemand(peer: string): boolean {
    return !this.node.options.relayServer && !this.wants(peer)
  }

  /** The membership changed: recompute the neighbours in a moment (one pass for a burst of changes). */
  reviewSoon(): void {
    if (this.soon != null) return
    this.soon = setTimeout(() => {
      this.soon = undefined
      void this.review()
    }, 200)
  }

  private members(): Member[] {
    const now = Date.now()
    const out: Member[] = []
    const known = new Set<string>()
    for (const p of this.node.presence.peers()) {
      known.add(p.id)
      if (p.status === 'offline' || p.card.relayOnly) continue
      out.push({ id: p.id, machine: p.card.machine })
    }
    for (const [id, at] of this.discoveredAt) {
      if (now - at > DISCOVERED_FOR) this.discoveredAt.delete(id)
      else if (!known.has(id)) out.push({ id, machine: '' })
    }
    return out
  }

  private opened(peer: PeerId): void {
    if (!this.onDemand(peer.toString())) return
    this.tagOnDemand(peer)
  }

  private tagOnDemand(peer: PeerId): void {
    this.node.libp2p.peerStore
      .merge(peer, { tags: { [ON_DEMAND_TAG]: { value: 20, ttl: this.init.idleGrace } } })
      .catch(() => {})
  }

  /** One pass: recompute the neighbours, dial the missing ones, close idle on-demand connections. */
  async review(): Promise<void> {
    if (this.reviewing) return
    this.reviewing = true
    try {
      const self = { id: this.node.peerId.toString(), machine: this.node.localCard().machine }
      this.wanted = chooseNeighbours(self, this.members(), this.init.maxPeers)
      await this.tagMesh()
      for (const id of this.wanted)
        if (!this.node.isConnected(id) && this.dialsFirst(id, self.id)) this.dial(id)
      for (const id of this.waitingSince.keys())
        if (!this.wanted.has(id) || this.node.isConnected(id)) this.waitingSince.delete(id)
      await this.closeIdle()
    } catch (err) {
      this.node.log.emit(
        'degree_error',
        { message: (err as Error).message },
        `peer review failed: ${(err as Error).message}`,
        'warn',
      )
    } finally {
      this.reviewing = false
    }
  }

  private async tagMesh(): Promise<void> {
    const store = this.node.libp2p.peerStore
    for (const id of this.wanted) {
      if (this.meshTagged.has(id)) continue
      this.meshTagged.add(id)
      await store.merge(peerIdFromString(id), { tags: { [MESH_TAG]: { value: 50 } } }).catch(() => {})
    }
    for (const id of [...this.meshTagged]) {
      if (this.wanted.has(id)) continue
      this.meshTagged.delete(id)
      await store.merge(peerIdFromString(id), { tags: { [MESH_TAG]: undefined } }).catch(() => {})
    }
  }

  private async closeIdle(): Promise<void> {
    const libp2p = this.node.libp2p
    const byPeer = new Map<string, Connection[]>()
    for (const c of libp2p.getConnections()) {
      const id = c.remotePeer.toString()
      byPeer.set(id, [...(byPeer.get(id) ?? []), c])
    }
    for (const [id, connections] of byPeer) {
      if (!this.onDemand(id)) continue
      // the side that dialled decides: a peer that named us with --peer, or still counts us as its
      // neighbour, keeps its connection; its own on-demand dials it closes itself
      if (!connections.some((c) => c.direction === 'outbound')) continue
      const peer = connections[0]!.remotePeer
      const inUse = connections.some((c) => c.streams.some((s) => !BACKGROUND.test(s.protocol ?? '')))
      if (inUse) {
        this.tagOnDemand(peer)
        continue
      }
      const tags = await libp2p.peerStore.get(peer).then(
        (p) => p.tags,
        () => new Map(),
      )
      if (tags.has(ON_DEMAND_TAG)) continue
      // the peer may have become a neighbour while we waited for the store
      if (!this.onDemand(id)) continue
      const name = this.node.nameOf(id)
      this.node.log.emit(
        'connection_idle_closed',
        { peer: id, name: name ?? null },
        `closed the idle on-demand connection to ${name != null ? `${name} (${shortId(id)})` : shortId(id)}`,
      )
      await libp2p.hangUp(peer).catch(() => {})
    }
  }

  /** Whether this node dials neighbour `id` now, rather than wait for `id` to dial it (DEFER_DIAL). */
  private dialsFirst(id: string, self: string): boolean {
    if (self < id) return true
    const since = this.waitingSince.get(id)
    if (since == null) this.waitingSince.set(id, Date.now())
    return since != null && Date.now() - since >= DEFER_DIAL
  }

  private dial(id: string): void {
    if (this.dialing.has(id)) return
    const b = this.backoff.get(id)
    if (b != null && Date.now() < b.at) return
    this.dialing.add(id)
    const discovered = this.discoveredAt.has(id)
    this.node.libp2p
      .dial(peerIdFromString(id))
      .then(() => this.backoff.delete(id))
      .catch((err: Error) => {
        const delay = Math.min(DIAL_BACKOFF_MAX, (b?.delay ?? DIAL_BACKOFF_MIN / 2) * 2)
        this.backoff.set(id, { at: Date.now() + delay, delay })
        // found by mDNS but not reachable (another mesh key?): not a member, so it takes no ring slot
        if (this.node.presence.peer(id) == null) this.discoveredAt.delete(id)
        this.onDialFailed(id, err, discovered)
      })
      .finally(() => this.dialing.delete(id))
  }
}
