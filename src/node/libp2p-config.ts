// The libp2p stack of a ClawLink node, in one place.
import { noise } from '@chainsafe/libp2p-noise'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { type FilesInit, files } from '../protocols/files/index.js'
import { type KnowledgeInit, knowledge } from '../protocols/knowledge/index.js'
import { type PresenceInit, presence } from '../protocols/presence/index.js'
import { type TasksInit, tasks } from '../protocols/tasks/index.js'
import { meshMdns } from './mdns-discovery.js'
import type { MeshKey } from './mesh-key.js'
import { fixXSalsa20 } from './xsalsa20-fix.js'

/** How often each connection is pinged to find links that died silently. */
export const CONNECTION_PING_INTERVAL = 60_000

export interface StackOptions {
  privateKey: PrivateKey
  meshKey: MeshKey
  listen: string[]
  /** serve circuit relay v2 for members of the mesh */
  relayServer: boolean
  /** relays to reserve a slot on (their multiaddrs) */
  relays: string[]
  /** allow-list and bans */
  gater: ConnectionGater
  mdns: boolean
  mdnsTag: string
  mdnsInterval: number
  presence: PresenceInit
  tasks: TasksInit
  knowledge: KnowledgeInit
  files: FilesInit
}

export async function createStack(opts: StackOptions) {
  // An open mesh must be asked for explicitly (--open): never fall back to no protector by accident.
  if (opts.meshKey.source !== 'open' && opts.meshKey.fileBytes == null) {
    throw new Error('mesh key missing: refusing to start an open node without --open')
  }
  // pnet's cipher leaks WASM memory under bulk traffic and would crash the node: see xsalsa20-fix.ts
  if (opts.meshKey.fileBytes != null) fixXSalsa20()
  return createLibp2p({
    start: false,
    privateKey: opts.privateKey,
    // each bare /p2p-circuit listen address keeps one reservation on a relay found among connected
    // peers (we keep the --relay nodes dialled). Unlike a reservation on a named relay, it is made again
    // by itself when a relay is lost and comes back, or on another relay
    addresses: { listen: [...opts.listen, ...opts.relays.map(() => '/p2p-circuit')] },
    transports: [tcp(), circuitRelayTransport({ reservationCompletionTimeout: 10_000 })],
    connectionProtector:
      opts.meshKey.fileBytes != null ? preSharedKey({ psk: opts.meshKey.fileBytes }) : undefined,
    connectionEncrypters: [noise()],
    connectionGater: opts.gater,
    // the connection monitor below already probes every connection; a second probe per connection
    // from yamux doubled the idle traffic of a full mesh
    streamMuxers: [yamux({ enableKeepAlive: false })],
    peerDiscovery: opts.mdns ? [meshMdns({ serviceTag: opts.mdnsTag, interval: opts.mdnsInterval })] : [],
    connectionManager: {
      dialTimeout: 10_000,
      // libp2p accepts 5 new connections a second per remote host by default and resets the rest; many
      // agents on one machine share an address, and a mesh of 25 on loopback lost dials to it at start
      inboundConnectionThreshold: 100,
      maxIncomingPendingConnections: 50,
    },
    // A ping (a new stream) per connection and side every 10 s, libp2p's default, was about half the CPU
    // of an idle 20-node mesh (a full mesh has N(N-1)/2 connections). Closed sockets are noticed at once
    // anyway; the ping finds links that died silently, well within presence's 120 s staleness.
    connectionMonitor: { pingInterval: CONNECTION_PING_INTERVAL },
    services: {
      identify: identify(),
      ping: ping(),
      // upgrades relayed connections to direct ones where the network allows
      dcutr: dcutr(),
      // only mesh members reach a relay (pnet), so it sets no data or time limits on their circuits
      ...(opts.relayServer
        ? { relay: circuitRelayServer({ reservations: { applyDefaultLimit: false, maxReservations: 1024 } }) }
        : {}),
      // presence depends on `pubsub`: keep it declared first.
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        globalSignaturePolicy: 'StrictSign',
        runOnLimitedConnection: true,
        // Gossipsub's default penalises peers that share an IP beyond 10 (a public network's Sybil guard).
        // Here the mesh key already decides who may join, and sharing an IP is normal: many agents on one
        // host, or every peer reached through one relay. With the penalty, an 11th node on a host was
        // graylisted by all the others: its gossip (heartbeats, broadcasts) ignored, peers gone stale.
        scoreParams: { IPColocationFactorWeight: 0 },
      }),
      presence: presence(opts.presence),
      tasks: tasks(opts.tasks),
      knowledge: knowledge(opts.knowledge),
      files: files(opts.files),
    },
  })
}

export type Stack = Awaited<ReturnType<typeof createStack>>
