// Keeping in touch with peers: remembered peers and bootstrap addresses are redialled, addresses and
// cards are saved, peers that break the rules are banned for a while, and peer status changes reach
// watchers. The log lines about all this are narration's (narration/peers.ts).
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { shortId } from '../api/short-id.js'
import { statusReason } from '../protocols/presence/index.js'
import { fromStoredPeer, peerJson, toStoredPeer } from './cards.js'
import type { NodeContext } from './context.js'
import { DegreeKeeper } from './degree-keeper.js'
import { HubSeeker } from './hub-seeker.js'
import { listenAlso } from './libp2p-config.js'
import { Redialer } from './redialer.js'

/** How often peer records whose card or status changed are written to the store. */
const PEER_FLUSH_INTERVAL = 5_000
/**
 * How often records that only were heard from again (a heartbeat with the same card) are written. Their
 * last-seen time only decides which remembered peers a restarted node redials (REMEMBER_FOR, a week),
 * so minutes of drift cost nothing, while a write per heartbeat cost every node a commit every 5 s.
 */
const SEEN_FLUSH_INTERVAL = 5 * 60_000
/** Remembered peers not heard from for this long are not redialled at start. */
const REMEMBER_FOR = 7 * 24 * 3600 * 1000

export class PeerKeeper {
  private readonly dirty = new Set<string>()
  /** peers heard from again with an unchanged card since their last write */
  private readonly seen = new Set<string>()
  private seenFlushedAt = Date.now()
  /** Discovered peers we failed to reach, so the log says it once, not every mDNS round. */
  readonly unreachable = new Set<string>()
  /** PeerIds learned by dialling bootstrap addresses without /p2p. */
  private readonly bootstrapPeers = new Map<string, string>()
  private redialer?: Redialer
  private stopFlush?: () => void
  /** which peers this node keeps connections to (--max-peers) */
  readonly degree: DegreeKeeper
  private readonly hubs: HubSeeker

  constructor(private readonly node: NodeContext) {
    this.degree = new DegreeKeeper(
      node,
      { maxPeers: node.options.maxPeers, idleGrace: node.options.idleGrace },
      (peer, err, discovered) => {
        if (!discovered || this.unreachable.has(peer)) return
        this.unreachable.add(peer)
        node.log.emit(
          'dial_failed',
          { peer, source: 'mdns', message: err.message },
          `could not connect to ${shortId(peer)} found by mDNS: ${err.message} (a node of another mesh key?)`,
          'warn',
        )
      },
    )
    this.hubs = new HubSeeker(node, this.degree, (addr) => listenAlso(node.libp2p, addr))
  }

  /** The peers the store remembers, for presence to start from. */
  static remembered(node: Pick<NodeContext, 'store'>) {
    return node.store
      .listPeers()
      .map(fromStoredPeer)
      .filter((p) => p != null)
  }

  /** Listens to presence and libp2p; call before the network starts. */
  wire(): void {
    const { node } = this
    const { libp2p, presence } = node
    presence.addEventListener('peer:card', ({ detail: { record, result } }) => {
      if (result === 'refreshed') this.seen.add(record.id)
      else this.dirty.add(record.id)
      if (result === 'new' || result === 'updated') {
        libp2p.peerStore
          .merge(peerIdFromString(record.id), { multiaddrs: parseAddrs(record.card.addrs) })
          .catch(() => {})
          .then(() => this.degree.addrsChanged(record.id))
        this.degree.reviewSoon()
      }
    })
    presence.addEventListener('peer:status', ({ detail: { record, from, to } }) => {
      this.dirty.add(record.id)
      if (!record.card.relayOnly) {
        node.watchHub.publish({
          type: to === 'online' ? 'peer_online' : to === 'stale' ? 'peer_stale' : 'peer_offline',
          peer: peerJson(record, to, node.isConnected(record.id)),
          reason: statusReason({ record, from, to }),
          timestamp: new Date().toISOString(),
        })
      }
      this.degree.reviewSoon()
      if (to === 'online') {
        this.unreachable.delete(record.id)
        libp2p.services.tasks.kick(record.id)
      } else if (to === 'offline' && record.leftAt != null) {
        this.redialer?.remove(`peer:${record.id}`)
      }
    })
    // a peer that broke a protocol's rules or flooded: counted, and past the limit banned for a while
    const offence = ({ detail }: { detail: { peer: string } }) => this.offend(detail.peer)
    presence.addEventListener('peer:invalid', offence)
    libp2p.services.tasks.addEventListener('message:invalid', offence)
    libp2p.services.knowledge.addEventListener('broadcast:invalid', offence)
    libp2p.services.knowledge.addEventListener('broadcast:throttled', offence)
    libp2p.services.files.addEventListener('entry:invalid', offence)
    libp2p.services.files.addEventListener('blob:invalid', offence)
    // not every peer found is dialled: the degree keeper dials the ones it keeps (--max-peers)
    libp2p.addEventListener('peer:discovery', (evt) => this.degree.discovered(evt.detail.id.toString()))
    libp2p.addEventListener('peer:disconnect', (evt) => {
      const id = evt.detail.toString()
      const record = presence.peer(id)
      if (record != null && record.status !== 'offline' && this.degree.wants(id))
        this.addRemembered(id, false)
      // a target it already had (a bootstrap address, a remembered peer) is redialled at once too
      this.redialer?.poke()
    })
  }

  /** Redials bootstrap addresses, relays and remembered peers; saves peer records every few seconds. */
  start(): void {
    const { node } = this
    const libp2p = node.libp2p
    this.redialer = new Redialer({
      ticker: node.ticker,
      onFailure: (key, err, attempt, next) => {
        if (!key.startsWith('addr:') && attempt > 1) return
        const target = key.slice(key.indexOf(':') + 1)
        node.log.emit(
          'dial_failed',
          { target, attempt, retryInMs: next ?? null, message: err.message },
          `could not reach ${target}: ${err.message}${next != null ? `; retrying in ${Math.round(next / 1000)} s` : '; giving up'}`,
          attempt === 1 ? 'warn' : 'info',
        )
      },
    })
    for (const addr of [...new Set([...node.options.peers, ...node.options.relays])]) {
      const ma = multiaddr(addr)
      const target = ma.getComponents().find((c) => c.name === 'p2p')?.value
      // a relay is kept; a --peer is a way in: kept while it is a neighbour, and dialled again whenever
      // this node has no neighbour connected (so fifty nodes given one --peer do not all stay on it)
      const relay = node.options.relays.includes(addr)
      if (relay && target != null) this.degree.pin(target)
      this.redialer.add(`addr:${addr}`, {
        permanent: true,
        connected: () => {
          const id = target ?? this.bootstrapPeers.get(addr)
          if (id != null && node.isConnected(id)) return true
          return !relay && this.degree.joined() && (id == null || !this.degree.wants(id))
        },
        dial: async () => {
          const connection = await libp2p.dial(ma)
          this.bootstrapPeers.set(addr, connection.remotePeer.toString())
          if (relay) this.degree.pin(connection.remotePeer.toString())
        },
      })
    }
    const horizon = Date.now() - REMEMBER_FOR
    for (const peer of PeerKeeper.remembered(node)) {
      if (peer.leftAt != null || peer.lastSeen < horizon || peer.addrs.length === 0) continue
      this.addRemembered(peer.id, true)
    }
    this.redialer.start()
    this.degree.start()
    this.hubs.start()
    this.stopFlush = node.ticker.every(PEER_FLUSH_INTERVAL, () => this.flush())
  }

  stop(): void {
    this.stopFlush?.()
    this.redialer?.stop()
    this.degree.stop()
    this.hubs.stop()
  }

  /** Counts an offence; past the limit the peer is hung up on and refused for a while. */
  offend(peer: string): void {
    const { node } = this
    const until = node.guard.offence(peer)
    if (until == null) return
    this.redialer?.remove(`peer:${peer}`)
    const name = node.nameOf(peer)
    const label = name != null ? `${name} (${shortId(peer)})` : shortId(peer)
    node.log.emit(
      'peer_banned',
      { peer, until: new Date(until).toISOString() },
      `disconnected ${label} and refusing it until ${new Date(until).toISOString()}: too many bad or excess messages`,
      'warn',
    )
    try {
      void node.libp2p.hangUp(peerIdFromString(peer)).catch(() => {})
    } catch {}
  }

  private addRemembered(id: string, fromStore: boolean): void {
    const { redialer, node } = this
    if (redialer == null || redialer.has(`peer:${id}`)) return
    let peerId: PeerId
    try {
      peerId = peerIdFromString(id)
    } catch {
      return
    }
    const record = node.presence.peer(id)
    // Remembered addresses must be in the peer store before the first dial can use them.
    const ready =
      fromStore && record != null
        ? node.libp2p.peerStore.merge(peerId, { multiaddrs: parseAddrs(record.card.addrs) }).then(
            () => {},
            () => {},
          )
        : Promise.resolve()
    redialer.add(`peer:${id}`, {
      permanent: false,
      // a peer that is no longer a neighbour needs no redial: it is reached on demand
      connected: () => node.libp2p.getConnections(peerId).length > 0 || !this.degree.wants(id),
      dial: async () => {
        await ready
        await node.libp2p.dial(peerId)
      },
    })
  }

  /** Writes the peer records that changed since the last flush (`all`: the refreshed ones too). */
  flush(all = false): void {
    const { node } = this
    if (all || Date.now() - this.seenFlushedAt >= SEEN_FLUSH_INTERVAL) {
      for (const id of this.seen) this.dirty.add(id)
      this.seen.clear()
      this.seenFlushedAt = Date.now()
    }
    if (this.dirty.size === 0) return
    const records = node.presence.peers().filter((p) => this.dirty.has(p.id))
    this.dirty.clear()
    try {
      node.store.transaction(() => {
        for (const r of records) node.store.upsertPeer(toStoredPeer(r))
      })
    } catch (err) {
      node.storeProblem(err) // a damaged store is reported (once) as such
      node.log.emit(
        'store_error',
        { message: (err as Error).message },
        `could not save peers: ${(err as Error).message}`,
        'error',
      )
    }
  }
}

function parseAddrs(addrs: Uint8Array[]): Multiaddr[] {
  return addrs.flatMap((a) => {
    try {
      return [multiaddr(a)]
    } catch {
      return []
    }
  })
}
