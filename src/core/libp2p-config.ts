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
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import type { MeshKey } from '../home/mesh-key.js'
import { type FilesInit, files } from '../protocols/files/index.js'
import { type KnowledgeInit, knowledge } from '../protocols/knowledge/index.js'
import { type Presence, type PresenceInit, presence } from '../protocols/presence/index.js'
import { type TasksInit, tasks } from '../protocols/tasks/index.js'
import { fastMessageId } from './gossip-id.js'
import { linkMonitor } from './link-monitor.js'
import { meshMdns } from './mdns-discovery.js'
import { fixXSalsa20 } from './xsalsa20-fix.js'
import { holdBackWindowUpdates } from './yamux-window.js'

/** How often each link must be shown alive (by anything it carried, or else a ping) to find links that died silently. */
export const CONNECTION_PING_INTERVAL = 60_000

/** How often yamux measures a connection's round trip time, after once at the start (why: in createStack). */
export const YAMUX_PING_INTERVAL = 10 * 60_000

/** Gossipsub's heartbeat (ms; its default is 1 s) and its score decay (why: in createStack). */
export const GOSSIP_HEARTBEAT_INTERVAL = 2_000
export const GOSSIP_SCORE_DECAY = { interval: 5_000, behaviourPenalty: 0.2 ** 5 }

/** Gossipsub's mesh degree (D, bounds Dlo-Dhi) and gossip fan-out (why: in createStack). */
export const GOSSIP_MESH = { D: 4, Dlo: 3, Dhi: 6, Dlazy: 2, mcacheGossip: 1 }

export interface StackOptions {
  privateKey: PrivateKey
  meshKey: MeshKey
  listen: string[]
  /** serve circuit relay v2 for members of the mesh */
  relayServer: boolean
  /** relays to reserve a slot on (their multiaddrs) */
  relays: string[]
  /** the connection manager's hard cap (--max-peers plus room for on-demand connections) */
  maxConnections: number
  /** allow-list and bans */
  gater: ConnectionGater
  mdns: boolean
  mdnsTag: string
  mdnsInterval: number
  presence: PresenceInit
  tasks: TasksInit
  knowledge: KnowledgeInit
  files: FilesInit
  /** for tests and the simulation only, never set by `clawlink node`: see StackSeam */
  seam?: StackSeam
}

/**
 * What a simulation (bench/simulate) swaps under a node: the bottom transport (e.g. libp2p's in-memory
 * one, with virtual link latency, instead of TCP) and a metrics hook that counts its traffic. Everything
 * above stays the node's own (pnet, Noise, yamux, relay, gossipsub settings, ClawLink protocols), so
 * what the simulation measures is this configuration.
 */
export interface StackSeam {
  transports?: NonNullable<Libp2pOptions['transports']>
  metrics?: Libp2pOptions['metrics']
}

export async function createStack(opts: StackOptions) {
  // An open mesh must be asked for explicitly (--open): never fall back to no protector by accident.
  if (opts.meshKey.source !== 'open' && opts.meshKey.fileBytes == null) {
    throw new Error('mesh key missing: refusing to start an open node without --open')
  }
  // pnet's cipher leaks WASM memory under bulk traffic and would crash the node: see xsalsa20-fix.ts
  if (opts.meshKey.fileBytes != null) fixXSalsa20()
  // one window update per half window instead of one per frame received: see yamux-window.ts
  holdBackWindowUpdates()
  // members known and not offline, this node included: mDNS paces its queries and answers by it
  let presenceService: Presence | undefined
  const members = (): number => presenceService?.members() ?? 1
  const known = (id: string, addrs: Multiaddr[]): boolean => presenceService?.knows(id, addrs) ?? false
  const stack = await createLibp2p({
    start: false,
    privateKey: opts.privateKey,
    // each bare /p2p-circuit listen address keeps one reservation on a relay found among connected
    // peers (we keep the --relay nodes dialled). Unlike a reservation on a named relay, it is made again
    // by itself when a relay is lost and comes back, or on another relay
    addresses: { listen: [...opts.listen, ...opts.relays.map(() => '/p2p-circuit')] },
    transports: [
      ...(opts.seam?.transports ?? [tcp()]),
      circuitRelayTransport({ reservationCompletionTimeout: 10_000 }),
    ],
    connectionProtector:
      opts.meshKey.fileBytes != null ? preSharedKey({ psk: opts.meshKey.fileBytes }) : undefined,
    connectionEncrypters: [noise()],
    ...(opts.seam?.metrics != null ? { metrics: opts.seam.metrics } : {}),
    connectionGater: opts.gater,
    // yamux pings each connection at once (the round trip time it measures lets a stream's receive window
    // grow: without it a bulk transfer stays at 256 KiB in flight) and then every keepAliveInterval. It
    // never closes a connection that stops answering: finding dead links is the connection monitor's
    // (below). At its default of 30 s the pings were 80 of an idle 20-node mesh node's 460 frames a
    // minute; every 10 minutes they only refresh the round trip time (test/integration/idle-link.test.ts)
    streamMuxers: [yamux({ keepAliveInterval: YAMUX_PING_INTERVAL })],
    peerDiscovery: opts.mdns
      ? [
          meshMdns({
            serviceTag: opts.mdnsTag,
            interval: opts.mdnsInterval,
            hub: opts.relayServer,
            members,
            known,
          }),
        ]
      : [],
    // Dead links are found by our link monitor (link-monitor.ts, in services below), not libp2p's: that
    // pings every connection from both ends each interval with a stream; ours pings silent links only,
    // with a yamux ping.
    connectionMonitor: { enabled: false },
    // On one host every peer is 127.0.0.1: libp2p's default of 5 new inbound connections a second per
    // address reset dials while a 25-node mesh formed
    connectionManager: {
      dialTimeout: 10_000,
      // past this, inbound connections are refused and the lowest-tagged idle ones pruned (degree-keeper.ts)
      maxConnections: opts.maxConnections,
      inboundConnectionThreshold: 100,
      maxIncomingPendingConnections: 50,
    },
    services: {
      identify: identify(),
      // answers /ipfs/ping streams (older ClawLink nodes' link monitors send them)
      ping: ping(),
      // Checks each link that carried nothing during the interval with a yamux ping, and aborts it when
      // the ping takes longer than its adaptive timeout.
      // - Interval: libp2p's monitor pinged every connection from both ends every 10 s, a stream each:
      //   half of an idle node's CPU with 10 connections (docs/benchmarks.md, issue 17). A socket that
      //   closes is noticed at once anyway; the check only finds links that died silently, and once a
      //   minute does that well within presence's staleness. At idle gossip crosses most links within a
      //   minute, and those are not pinged at all (test/integration/idle-link.test.ts).
      // - Timeout: on a slow path a ping waits behind the data already queued on the connection (at
      //   40 KB/s, 300 ms RTT and 5 % loss: seconds, plus retransmissions), so libp2p's 5 s floor closed
      //   a working connection in the middle of every large transfer (test/e2e/slow-link.test.ts).
      linkMonitor: linkMonitor({ interval: CONNECTION_PING_INTERVAL, pingTimeout: { minTimeout: 20_000 } }),
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
        // drops the copies of a message already seen before verifying their signature again: at idle
        // that spared each node 4-5 checks per presence heartbeat (gossip-id.ts)
        fastMsgIdFn: fastMessageId,
        runOnLimitedConnection: true,
        // Gossipsub's default penalises peers that share an IP beyond 10 (a public network's Sybil guard).
        // Here the mesh key already decides who may join, and sharing an IP is normal: many agents on one
        // host, or every peer reached through one relay. With the penalty, an 11th node on a host was
        // graylisted by all the others: its gossip (heartbeats, broadcasts) ignored, peers gone stale.
        // Gossipsub ran two timers a second on every node: its heartbeat and its score decay. Each wake-up
        // of an idle process costs CPU before any work is done (about 0.18 ms on the benchmark VM), and
        // these were 40 % of an idle node's wake-ups (docs/benchmarks.md, issue 17).
        // - Heartbeat every 2 s: mesh upkeep and IHAVE gossip run half as often; forwarding is not on
        //   the heartbeat, so a broadcast is as fast as before, and IHAVE batches two seconds of ids.
        // - Score decay every 5 s: the only score in use is the behaviour penalty (broken IHAVE
        //   promises, GRAFTs in backoff); at 0.2 a second it faded within about 2 s, and at 0.2^5 per
        //   5 s it is cleared by the next decay, within 5 s.
        heartbeatInterval: GOSSIP_HEARTBEAT_INTERVAL,
        scoreParams: {
          IPColocationFactorWeight: 0,
          decayInterval: GOSSIP_SCORE_DECAY.interval,
          behaviourPenaltyDecay: GOSSIP_SCORE_DECAY.behaviourPenalty,
        },
        // Each gossipsub frame a node receives or sends goes through yamux, Noise, pnet and a socket write
        // (about 0.5 ms of CPU on the benchmark machine), and at idle gossip is most of what a node does.
        // - IHAVE: every heartbeat (1 s) libp2p's default told 6 non-mesh peers about the last three
        //   heartbeats' messages, though the mesh had delivered them all: half of an idle node's gossip
        //   frames. It now tells 2 peers about the last heartbeat's only.
        // - Mesh degree: each message reaches a node once from each mesh peer that had it first, so
        //   copies grow with D: 4.8 a presence message at D 6 (4-12), 3.0 at D 4 (3-6), a quarter fewer
        //   idle frames in the 50-node simulation. D 3 (2-4) was tried in session 6 and let a broadcast
        //   of the 20-node simulation miss a node for 20 s; with D 4 none was missed in four 50-node
        //   simulations (churn coverage as at D 6), at 200 nodes, or by 50 real nodes. Session 10's two
        //   deliveries past 5 s were, as far as session 11 found, nodes started less than a heartbeat
        //   before (no mesh yet), served by history sync, which the harness did not count (benchmarks.md).
        // Tested: test/integration/gossip-fanout.test.ts (IHAVE and copies), simulate.test.ts (coverage).
        ...GOSSIP_MESH,
      }),
      presence: presence(opts.presence),
      tasks: tasks(opts.tasks),
      knowledge: knowledge(opts.knowledge),
      files: files(opts.files),
    },
  })
  presenceService = stack.services.presence
  return stack
}

export type Stack = Awaited<ReturnType<typeof createStack>>

/**
 * Starts listening on one more address once the node runs: `/p2p/HUB/p2p-circuit` reserves a slot on
 * that hub and announces the relayed address (hub-seeker.ts). libp2p's transport manager takes extra
 * listen addresses after start, but the Libp2p interface does not expose it, only the node's components.
 */
export async function listenAlso(stack: Stack, addr: string): Promise<void> {
  const { components } = stack as unknown as {
    components: { transportManager: { listen(addrs: Multiaddr[]): Promise<void> } }
  }
  await components.transportManager.listen([multiaddr(addr)])
}
