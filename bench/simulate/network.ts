// A virtual network of real ClawLink nodes in one process: each is createNode() with the node's own
// libp2p configuration and protocols (pnet, Noise, yamux, gossipsub settings, presence, knowledge), its
// store on tmpfs, and libp2p's in-memory transport with a fixed latency per link instead of TCP. The
// topology is what the nodes' own bootstrap dialling makes of a bounded random set of `--peer`
// addresses: each node dials `dials` random nodes already up when it starts, so nobody is told about
// everyone, and (the first node starting alone) every node reaches the nodes started before it.
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { memory } from '@libp2p/memory'
import type * as Core from '../../src/core/index.js'
import type * as MeshKey from '../../src/home/mesh-key.js'
import { countRpcs, type RpcCounts } from './rpcs.ts'
import { Traffic } from './traffic.ts'

/**
 * The node code under simulation, passed in: the bench runs the build (dist/), the test the sources,
 * so this module imports neither.
 */
export interface SimCore {
  createNode: typeof Core.createNode
  EventLog: typeof Core.EventLog
  resolveNodeOptions: typeof Core.resolveNodeOptions
  encodeKeyFile: typeof MeshKey.encodeKeyFile
  generateKey: typeof MeshKey.generateKey
}

export interface NetworkInit {
  core: SimCore
  /** link latency in ms, each way (the memory transport delays every buffer by it) */
  latency: number
  /** bootstrap addresses each node dials (its degree is these plus the dials it gets) */
  dials: number
  /** each node's --max-peers (the node's default when unset) */
  maxPeers?: number
  /** where node stores go; tmpfs keeps them off the disk */
  root?: string
  /** when set, what every node's gossipsub receives is counted here (rpcs.ts) */
  rpcs?: RpcCounts
  /** every node log event, for a look inside */
  onEvent?: (node: SimNode, event: string, fields: Record<string, unknown>) => void
}

/** One simulated node; `node` is set while it runs. */
export interface SimNode {
  index: number
  name: string
  node?: Core.ClawLinkNode
  traffic: Traffic
  /** when it last came up (ms, Date.now) */
  upSince: number
  /** broadcast id -> arrival (ms, performance.now), live (gossip) or by history sync */
  arrivals: Map<string, number>
  /** the ids of `arrivals` that came by history sync (anti-entropy), not gossip */
  synced: Set<string>
  /** the nodes it was given as bootstrap peers (indices) when it last started */
  bootstrap: number[]
}

/** A node log that writes nothing and hands each event to `on`. */
function silentLog(core: SimCore, on: (event: string, fields: Record<string, unknown>) => void) {
  return new (class extends core.EventLog {
    override emit(event: string, fields: Record<string, unknown>): void {
      on(event, fields)
    }
  })(true)
}

export class SimNetwork {
  readonly nodes: SimNode[] = []
  private readonly root: string
  private readonly prefix = randomBytes(4).toString('hex')
  private readonly key: string
  /** nodes that did not start, with why */
  readonly failures: string[] = []

  private readonly init: NetworkInit

  constructor(init: NetworkInit) {
    this.init = init
    this.key = init.core.encodeKeyFile(init.core.generateKey())
    const base = init.root ?? '/dev/shm'
    mkdirSync(base, { recursive: true })
    this.root = mkdtempSync(join(base, 'clawlink-sim-'))
  }

  address(i: number): string {
    return `/memory/sim-${this.prefix}-${i}`
  }

  up(): SimNode[] {
    return this.nodes.filter((n) => n.node != null)
  }

  /**
   * Starts `count` more nodes, `batch` at a time; each dials a random set of those already up. With
   * `pace` (ms), each batch waits until all its nodes hold a connection (at most `pace` ms) before the
   * next starts, so that one process is not handed every handshake at once.
   */
  async grow(count: number, batch = 10, pace = 0, onBatch?: (started: number) => void): Promise<void> {
    const first = this.nodes.length
    for (let i = first; i < first + count; i++) {
      this.nodes.push({
        index: i,
        name: `n${i}`,
        traffic: new Traffic(),
        upSince: 0,
        arrivals: new Map(),
        synced: new Set(),
        bootstrap: [],
      })
    }
    // the nodes of a batch start at once and cannot dial each other, so a batch with nobody up before
    // it would be islands that later nodes may or may not bridge (a split mesh): the first starts alone
    if (first < first + count && this.up().length === 0) await this.start(this.nodes[first]!)
    for (let i = first; i < first + count; i += batch) {
      const ids = Array.from({ length: Math.min(batch, first + count - i) }, (_, k) => i + k)
      const started = ids.map((id) => this.nodes[id]!)
      await Promise.all(started.map((n) => this.start(n)))
      if (pace > 0 && i > 0) {
        const connected = () =>
          started.every((n) => n.node == null || n.node.libp2p.getConnections().length > 0)
        await waitFor(connected, pace, 20)
      }
      onBatch?.(i + ids.length)
    }
  }

  /** Starts (or restarts, with its identity and store) one node, dialling a fresh random set. */
  async start(sim: SimNode): Promise<void> {
    if (sim.node != null) return
    const candidates = this.up().filter((n) => n !== sim)
    sim.bootstrap = sample(candidates, this.init.dials).map((n) => n.index)
    const targets = sim.bootstrap.map((i) => this.address(i))
    const { core } = this.init
    const options = core.resolveNodeOptions({
      name: sim.name,
      dataDir: join(this.root, sim.name),
      listen: [this.address(sim.index)],
      peers: targets,
      mdns: false,
      json: true,
      env: { CLAWLINK_HOME: this.root, CLAWLINK_KEY: this.key },
      // broadcasts come faster than a person's agent would send them
      broadcastRate: 100_000,
      ...(this.init.maxPeers != null ? { maxPeers: this.init.maxPeers } : {}),
    })
    const log = silentLog(core, (event, fields) => {
      sim.traffic.events[event] = (sim.traffic.events[event] ?? 0) + 1
      if (event === 'broadcast_received') {
        // its inbox event may have come first, in the same instant: it came live all the same
        const id = fields.id as string
        if (!sim.arrivals.has(id)) sim.arrivals.set(id, performance.now())
        sim.synced.delete(id)
      }
      this.init.onEvent?.(sim, event, fields)
    })
    try {
      sim.node = await core.createNode({
        options,
        log,
        seam: {
          // latency is the metrics hook's (a pipelined link), not the memory transport's: see delaySends
          transports: [memory()],
          metrics: sim.traffic.metrics(this.init.latency),
        },
      })
      sim.upSince = Date.now()
      // a broadcast that came by history sync logs nothing but is the agent's too: its inbox event
      sim.node.inbox.subscribe((e) => {
        if (e.type !== 'broadcast' || sim.arrivals.has(e.id)) return
        sim.arrivals.set(e.id, performance.now())
        sim.synced.add(e.id)
      })
      if (this.init.rpcs != null) countRpcs(sim.node.libp2p.services.pubsub, this.init.rpcs)
      const { traffic } = sim
      sim.node.libp2p.addEventListener('connection:open', (evt) => {
        traffic.opened++
        if (evt.detail.remoteAddr.toString().includes('/p2p-circuit')) traffic.relayed++
      })
      sim.node.libp2p.addEventListener('connection:close', () => traffic.closed++)
    } catch (err) {
      this.failures.push(`${sim.name}: ${(err as Error).message}`)
    }
  }

  async stop(sim: SimNode): Promise<void> {
    const node = sim.node
    if (node == null) return
    sim.node = undefined
    await node.stop().catch(() => {})
  }

  /** Names a running node lists online, as `discover` does. */
  listed(sim: SimNode): Set<string> {
    const peers = sim.node?.presence.peers() ?? []
    return new Set(peers.filter((p) => p.status === 'online').map((p) => p.card.name))
  }

  /** True when every running node lists every other running node online. */
  converged(): boolean {
    return this.missing() === 0
  }

  /** How many (node, peer) listings are missing among the running nodes. */
  missing(): number {
    const up = this.up()
    return up.reduce((sum, n) => {
      const listed = this.listed(n)
      return sum + up.filter((m) => m !== n && !listed.has(m.name)).length
    }, 0)
  }

  /** Connections each running node holds. */
  degrees(): number[] {
    return this.up().map((n) => n.node!.libp2p.getConnections().length)
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => this.stop(n)))
    rmSync(this.root, { recursive: true, force: true })
  }
}

/** Up to `k` distinct random members of `from`. */
export function sample<T>(from: T[], k: number): T[] {
  const pool = [...from]
  const out: T[] = []
  while (out.length < k && pool.length > 0) {
    const i = Math.floor(Math.random() * pool.length)
    out.push(pool[i]!)
    pool[i] = pool[pool.length - 1]!
    pool.pop()
  }
  return out
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `check` every `every` ms until it holds; false when `timeout` passed first. */
export async function waitFor(check: () => boolean, timeout: number, every = 50): Promise<boolean> {
  const deadline = performance.now() + timeout
  while (!check()) {
    if (performance.now() > deadline) return false
    await sleep(every)
  }
  return true
}
