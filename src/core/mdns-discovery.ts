// mDNS discovery that stays cheap in a large mesh. Every node on the LAN answers every query, by
// multicast, so every node receives every answer: with N nodes each querying every T seconds, each node
// handles N²/T answers a second (250/s at 50 nodes and 10 s). Answers are multicast, so one node's query
// refreshes every node's view; here each node queries every T × (its connected peers + 1) seconds, which
// keeps about one query per T across the whole LAN, and each node handles about N/T answers a second.
// A node with no connections (just started, or cut off) queries every T. Answers from peers we are already
// connected to are dropped before they reach the peer store: identify keeps those addresses current.

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
import { TypedEventEmitter } from 'main-event'

/** Longest gap between this node's own queries, however large the mesh. */
export const MAX_QUERY_INTERVAL = 15 * 60_000
/** The library's own query timer is set beyond any run: this module decides when to query. */
const NEVER = 2 ** 31 - 1

export interface MeshMdnsInit {
  serviceTag: string
  /** the query interval of a node alone; the LAN as a whole queries about this often */
  interval: number
  /** a hub answers each query directly to the asker too (see answerDirectly) */
  hub?: boolean
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
    if (this.init.hub === true) this.answerDirectly()
    this.started = true
    this.schedule()
  }

  async stop(): Promise<void> {
    this.started = false
    clearTimeout(this.timer)
    await this.inner.stop()
  }

  /** Seconds until the next query: T × (connected peers + 1), ±20% so nodes do not query in step. */
  nextDelay(): number {
    const peers = new Set(
      this.components.connectionManager.getConnections().map((c) => c.remotePeer.toString()),
    )
    const base = Math.min(MAX_QUERY_INTERVAL, this.init.interval * (peers.size + 1))
    return Math.round(base * (0.8 + Math.random() * 0.4))
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
   * A hub has a leg in several subnets, but a multicast answer leaves by one interface only (the one its
   * route names), so agents on the other subnets would never hear it. A hub therefore also sends each
   * answer straight to the node that asked, by unicast to its mDNS port: every subnet finds the hub.
   */
  private answerDirectly(): void {
    const socket = (this.inner as { mdns?: Partial<MdnsSocket> }).mdns
    if (typeof socket?.respond !== 'function' || typeof socket.prependListener !== 'function') return
    let asker: { address: string; port: number } | undefined
    // runs before the library's own listener, which answers at once (synchronously)
    socket.prependListener('query', (_query, rinfo) => {
      asker = rinfo
    })
    const respond = socket.respond.bind(socket)
    socket.respond = (res, rinfo, cb) => {
      respond(res, rinfo, cb)
      const to = asker
      asker = undefined
      if (rinfo == null && to != null) respond(res, { address: to.address, port: to.port })
    }
  }

  private onPeer(peer: PeerInfo): void {
    if (this.components.connectionManager.getConnections(peer.id).length > 0) return
    this.safeDispatchEvent('peer', { detail: peer })
  }
}

export function meshMdns(init: MeshMdnsInit): (components: MeshMdnsComponents) => PeerDiscovery {
  return (components) => new MeshMdns(components, init)
}
