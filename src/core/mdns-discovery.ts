// mDNS discovery that stays cheap in a large mesh. Every node on the LAN hears every query and every
// answer (both are multicast). Left to the library, each of N nodes queries every T seconds and all N
// answer: N²/T answers a second mesh-wide, N/T for each node to parse (250/s at 50 nodes and 10 s).
// - Queries: a node queries every T × (members it knows, itself included), so the LAN as a whole queries
//   about once per T whatever its size. A node with no connection (just started, or cut off) queries every T.
// - Answers: mDNS only has to show a newcomer the way in; presence then lists every member (a node learns
//   the others' cards from the peers it connects to). So a node that is connected answers a query with
//   probability ANSWERERS / members: about ANSWERERS answers per query, whatever N (the chance that nobody
//   answers is e^-ANSWERERS, and the asker asks again after T). A node with no connection, a hub, and any
//   node of a mesh of up to ANSWERERS members always answers.
// Answers from peers we are already connected to, or that presence lists with a card carrying the same
// addresses, are dropped before they reach the peer store: identify keeps the first's addresses current,
// and the others' cards carry theirs (the peer keeper merges them). An answer with an address the card
// lacks is passed on: the peer restarted on another port, and its card is the one remembered from before
// (a restarted node would otherwise keep dialling the old port). Every node hears every answer, and at
// 50 nodes on one host passing them on (the peer store's merge and its write lock, a degree review) was
// about 8 % of an idle node's CPU (docs/benchmarks.md, session 8).

import type {
  ComponentLogger,
  PeerDiscovery,
  PeerDiscoveryEvents,
  PeerInfo,
  Startable,
} from '@libp2p/interface'
import { peerDiscoverySymbol, serviceCapabilities } from '@libp2p/interface'
import type { AddressManager, ConnectionManager } from '@libp2p/interface-internal'
import { mdns } from '@libp2p/mdns'
import type { Multiaddr } from '@multiformats/multiaddr'
import { TypedEventEmitter } from 'main-event'

/** Longest gap between this node's own queries, however large the mesh. */
export const MAX_QUERY_INTERVAL = 15 * 60_000
/** Nodes expected to answer one query in a large mesh (see the top of this file). */
export const ANSWERERS = 6
/** The library's own query timer is set beyond any run: this module decides when to query. */
const NEVER = 2 ** 31 - 1

export interface MeshMdnsInit {
  serviceTag: string
  /** the query interval of a node alone; the LAN as a whole queries about this often */
  interval: number
  /** a hub always answers, and directly to the asker too (see gateAnswers) */
  hub?: boolean
  /** members this node knows that are not offline, itself included (default: its connected peers + 1) */
  members?: () => number
  /** whether presence lists the peer as a member not offline with a card carrying all of `addrs` */
  known?: (peerId: string, addrs: Multiaddr[]) => boolean
}

/** ms until a node's next query: T × members, T alone while it has no connection, ±20 % jitter. */
export function queryDelay(
  interval: number,
  connections: number,
  members: number,
  random = Math.random,
): number {
  const base =
    connections === 0 ? interval : Math.min(MAX_QUERY_INTERVAL, interval * Math.max(members, connections + 1))
  return Math.round(base * (0.8 + random() * 0.4))
}

/** Chance that a node answers one query. */
export function answerChance(connections: number, members: number, hub: boolean): number {
  if (hub || connections === 0) return 1
  return Math.min(1, ANSWERERS / Math.max(1, members))
}

export interface MeshMdnsComponents {
  addressManager: AddressManager
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

interface MdnsSocket {
  query(q: { questions: Array<{ name: string; type: string }> }): void
  respond(res: unknown, rinfo?: { address: string; port: number }, cb?: unknown): void
  prependListener(
    event: 'query',
    fn: (query: unknown, rinfo: { address: string; port: number }) => void,
  ): void
}

class MeshMdns extends TypedEventEmitter<PeerDiscoveryEvents> implements PeerDiscovery, Startable {
  private readonly inner: PeerDiscovery & Startable
  private readonly components: MeshMdnsComponents
  private readonly init: MeshMdnsInit
  private timer?: ReturnType<typeof setTimeout>
  private started = false

  constructor(components: MeshMdnsComponents, init: MeshMdnsInit) {
    super()
    this.components = components
    this.init = init
    this.inner = mdns({ serviceTag: init.serviceTag, interval: NEVER })(components) as PeerDiscovery &
      Startable
    this.inner.addEventListener('peer', (evt) => this.onPeer(evt.detail))
  }

  readonly [peerDiscoverySymbol] = this
  readonly [Symbol.toStringTag] = '@clawlink/mdns'
  readonly [serviceCapabilities] = ['@libp2p/peer-discovery']

  isStarted(): boolean {
    return this.started
  }

  /** The library queries once as it starts. */
  async start(): Promise<void> {
    await this.inner.start()
    this.gateAnswers()
    this.started = true
    this.schedule()
  }

  async stop(): Promise<void> {
    this.started = false
    clearTimeout(this.timer)
    await this.inner.stop()
  }

  private connectedPeers(): number {
    return new Set(this.components.connectionManager.getConnections().map((c) => c.remotePeer.toString()))
      .size
  }

  private members(connections: number): number {
    return this.init.members?.() ?? connections + 1
  }

  /** ms until the next query (queryDelay). */
  nextDelay(): number {
    const connections = this.connectedPeers()
    return queryDelay(this.init.interval, connections, this.members(connections))
  }

  private schedule(): void {
    if (!this.started) return
    this.timer = setTimeout(() => {
      void this.query().finally(() => this.schedule())
    }, this.nextDelay())
  }

  private async query(): Promise<void> {
    const socket = (this.inner as { mdns?: Partial<MdnsSocket> }).mdns
    if (typeof socket?.query === 'function') {
      socket.query({ questions: [{ name: this.init.serviceTag, type: 'PTR' }] })
      return
    }
    // another version of the library: restarting it queries at once
    await this.inner.stop()
    if (this.started) await this.inner.start()
  }

  /**
   * Decides, per query, whether this node answers (answerChance). The library answers synchronously in its
   * own listener, so ours runs first and the library's respond() sees the decision. A hub also sends each
   * answer straight to the asker, by unicast to its mDNS port: a hub has a leg in several subnets, but a
   * multicast answer leaves by one interface only (the one its route names), so agents on the other
   * subnets would never hear it otherwise.
   */
  private gateAnswers(): void {
    const socket = (this.inner as { mdns?: Partial<MdnsSocket> }).mdns
    if (typeof socket?.respond !== 'function' || typeof socket.prependListener !== 'function') return
    let query: { asker: { address: string; port: number }; answer: boolean } | undefined
    const hub = this.init.hub === true
    socket.prependListener('query', (_query, rinfo) => {
      const connections = this.connectedPeers()
      const chance = answerChance(connections, this.members(connections), hub)
      query = { asker: rinfo, answer: chance >= 1 || Math.random() < chance }
    })
    const respond = socket.respond.bind(socket)
    socket.respond = (res, rinfo, cb) => {
      const q = query
      query = undefined
      if (rinfo != null || q == null) return respond(res, rinfo, cb)
      if (!q.answer) return
      respond(res, rinfo, cb)
      if (hub) respond(res, { address: q.asker.address, port: q.asker.port })
    }
  }

  private onPeer(peer: PeerInfo): void {
    if (this.components.connectionManager.getConnections(peer.id).length > 0) return
    if (this.init.known?.(peer.id.toString(), peer.multiaddrs) === true) return
    this.safeDispatchEvent('peer', { detail: peer })
  }
}

export function meshMdns(init: MeshMdnsInit): (components: MeshMdnsComponents) => PeerDiscovery {
  return (components) => new MeshMdns(components, init)
}
