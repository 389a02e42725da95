// Issue 17 figure: what each node of an idle mesh costs, as CPU per process over a window, for a mesh of
// IDLE_MESH_NODES (20) real node processes with the default --max-peers, every node bootstrapped from
// the first. Beside it, in the same run, a 3-node mesh: the floor a node costs with one or two peers.
// The variants in docs/benchmarks.md ("Idle cost per node") were taken with this bench on builds that
// switched one thing at a time.
import { cpuMs, intFromEnv, median, printTable, round, saveResult, spawnNode, world } from './lib.ts'

const NODES = intFromEnv('IDLE_MESH_NODES', 20, 3, 100)
/** after the last start: past the start-up announcements and each node's first-minute member syncs */
const SETTLE = intFromEnv('IDLE_MESH_SETTLE', 60_000, 0, 600_000)
const WINDOW = intFromEnv('IDLE_MESH_WINDOW', 60_000, 1_000, 600_000)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface MeshIdle {
  nodes: number
  perNodeMedian: number
  perNodeMax: number
  total: number
}

async function measure(n: number): Promise<MeshIdle> {
  const w = world()
  const nodes = []
  try {
    const args = (i: number) => ['--name', `m${i}`, '--listen', '/ip4/127.0.0.1/tcp/0']
    nodes.push(await spawnNode(args(0), w.env))
    for (let i = 1; i < n; i++)
      nodes.push(await spawnNode([...args(i), '--peer', nodes[0]!.addrs[0]!], w.env))
    await sleep(SETTLE)
    const pids = nodes.map((x) => x.proc.pid!)
    const before = pids.map(cpuMs)
    const t0 = performance.now()
    await sleep(WINDOW)
    const wall = performance.now() - t0
    const per = pids.map((pid, i) => ((cpuMs(pid) - before[i]!) / wall) * 100)
    return {
      nodes: n,
      perNodeMedian: round(median(per), 2),
      perNodeMax: round(Math.max(...per), 2),
      total: round(
        per.reduce((a, b) => a + b, 0),
        1,
      ),
    }
  } finally {
    await Promise.all(nodes.map((x) => x.stop(5_000)))
    w.cleanup()
  }
}

export async function runIdleMeshBench(): Promise<void> {
  const runs = [await measure(3), await measure(NODES)]
  printTable(
    `Idle mesh, CPU % of one core per node process (${WINDOW / 1000} s window, ${SETTLE / 1000} s after the last start)`,
    runs.map((r) => ({
      nodes: r.nodes,
      'per node, median': r.perNodeMedian,
      'per node, max': r.perNodeMax,
      'whole mesh': r.total,
    })),
  )
  const path = saveResult('idle-mesh', { settings: { settleMs: SETTLE, windowMs: WINDOW }, runs })
  console.log(`wrote ${path}`)
}
