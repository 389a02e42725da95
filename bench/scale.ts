// Issue 8 figures: meshes of 10, 25 and 50 node processes on loopback. How long until everyone lists
// everyone, how long a broadcast takes to reach all, a task's delegate-to-poll latency while the mesh is
// busy with broadcasts, memory per node and the CPU of the idle mesh.

import type { BroadcastJson, EventJson, PeerJson, StatusJson, TaskJson } from '../dist/api/types.js'
import { ControlClient } from '../dist/client/control-client.js'
import { dataDirPaths } from '../dist/home/paths.js'
import { writeScaleCharts } from './chart.ts'
import {
  type BenchNode,
  cpuMs,
  intFromEnv,
  median,
  memoryMiB,
  percentile,
  printTable,
  round,
  saveResult,
  spawnNode,
  type ThreadCpu,
  threadsCpu,
  world,
} from './lib.ts'

const MAX_NODES = 200

function sizesFromEnv(): number[] {
  const raw = process.env.BENCH_SIZES ?? '10,25,50'
  const sizes = raw.split(',').map(Number)
  if (sizes.length > 10 || sizes.some((n) => !Number.isInteger(n) || n < 2 || n > MAX_NODES)) {
    throw new Error(`BENCH_SIZES must be up to 10 comma-separated mesh sizes, each 2-${MAX_NODES}`)
  }
  return sizes
}

const BROADCASTS = intFromEnv('BENCH_SCALE_BROADCASTS', 50, 1, 1000)
const TASKS = intFromEnv('BENCH_SCALE_TASKS', 40, 1, 1000)
/** broadcasts per second, mesh-wide, that keep the mesh busy while tasks are timed */
const BUSY_RATE = intFromEnv('BENCH_SCALE_BUSY_RATE', 20, 0, 1000)
const IDLE_WINDOW = intFromEnv('BENCH_IDLE_WINDOW', 30_000, 1_000, 300_000)
/** wait after convergence before the idle window */
const IDLE_SETTLE = intFromEnv('BENCH_SCALE_IDLE_SETTLE', 60_000, 0, 600_000)
/**
 * Nodes started at once. One at a time by default: two nodes started in the same instant that find each
 * other by mDNS were seen never to list each other (see docs/benchmarks.md, open issues).
 */
const SPAWN_BATCH = intFromEnv('BENCH_SPAWN_BATCH', 1, 1, 50)
const CONVERGE_TIMEOUT = 120_000
/** how long a broadcast missed live is given to arrive by anti-entropy before the run says whether it did */
const MISSED_GRACE = 30_000
const LISTEN = ['--listen', '/ip4/127.0.0.1/tcp/0']
/**
 * A/B runs in one mesh: BENCH_BINS names other builds (copies with a tuning under test, comma-separated);
 * node i runs variant i mod (builds + 1), variant 0 being BENCH_BIN or ours. All variants share the
 * window, the load and the traffic, so their idle CPU compares fairly on a noisy machine; the run
 * reports each variant's.
 */
const VARIANTS = [undefined, ...(process.env.BENCH_BINS ?? '').split(',').filter((b) => b !== '')]
const binOf = (i: number) => {
  const bin = VARIANTS[i % VARIANTS.length]
  return bin != null ? { bin } : {}
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const eventTime = (e: Record<string, unknown>) => Date.parse(e.time as string)

export interface ScaleRun {
  nodes: number
  /** from the last node's `started` until every node has had every other come online */
  convergeFromLastStartMs: number
  /** from spawning the first process until the same moment */
  convergeFromFirstSpawnMs: number
  broadcastMedianMs: number
  broadcastP99Ms: number
  broadcastMaxMs: number
  /** (broadcast, node) pairs not received live within 30 s */
  broadcastsMissedLive?: number
  taskMedianMs: number
  taskP99Ms: number
  busyBroadcastsPerSecond: number
  rssMedianMiB: number
  rssMaxMiB: number
  pssMeanMiB: number
  ussMeanMiB: number
  idleCpuPercentOfOneCore: number
  idleCpuPercentPerNode: number
  /** the idle CPU by kind of thread: % of one core in user and kernel mode, wake-ups a second (all nodes) */
  /** an A/B run (BENCH_BINS): idle CPU per node of each variant, % of one core */
  idleCpuVariants?: Array<{ bin: string; perNode: number; pssMeanMiB: number; rssMeanMiB: number }>
  idleCpuByThread?: Record<string, { userPercent: number; systemPercent: number; wakeupsPerSecond: number }>
  /** the most peers one node was connected to, and how many of those it keeps (not on demand), at idle */
  maxConnectedPeers?: number
  maxMeshPeers?: number
  samples: { broadcast: number[]; task: number[]; rss: number[]; pss: number[]; cpuMs: number[] }
}

/** Starts `n` nodes, `SPAWN_BATCH` at a time; every node after the first also bootstraps from the first. */
async function startMesh(n: number, env: NodeJS.ProcessEnv, nodes: BenchNode[]): Promise<void> {
  const args = (i: number) => [
    '--name',
    `s${i}`,
    ...LISTEN,
    // broadcasts and tasks come faster than a person's agent would send them
    '--broadcast-rate',
    '100000',
    '--task-rate',
    '100000',
    '--max-inbox',
    '1000000',
  ]
  nodes.push(await spawnNode(args(0), env))
  const bootstrap = ['--peer', nodes[0]!.addrs[0]!]
  for (let i = 1; i < n; i += SPAWN_BATCH) {
    const batch = Array.from({ length: Math.min(SPAWN_BATCH, n - i) }, (_, k) => i + k)
    const started = await Promise.allSettled(
      batch.map((j) => spawnNode([...args(j), ...bootstrap], env, undefined, binOf(j))),
    )
    for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value)
    const failed = started.find((s) => s.status === 'rejected')
    if (failed != null) throw (failed as PromiseRejectedResult).reason
  }
}

/** Resolves with the time (ms, node clock) at which every node had seen every other come online. */
async function converged(nodes: BenchNode[]): Promise<number> {
  const names = nodes.map((_, i) => `s${i}`)
  const done = new Array<number>(nodes.length).fill(0)
  const deadline = Date.now() + CONVERGE_TIMEOUT
  while (Date.now() < deadline) {
    for (const [i, node] of nodes.entries()) {
      if (done[i] !== 0) continue
      const seen = new Map<string, number>()
      for (const e of node.events) {
        if (e.event === 'peer_online' && typeof e.name === 'string' && !seen.has(e.name)) {
          seen.set(e.name, eventTime(e))
        }
      }
      if (names.every((name, j) => j === i || seen.has(name))) done[i] = Math.max(...seen.values())
    }
    if (done.every((t) => t !== 0)) return Math.max(...done)
    await sleep(100)
  }
  const missing = nodes.flatMap((node, i) => {
    if (done[i] !== 0) return []
    const seen = new Set(node.events.filter((e) => e.event === 'peer_online').map((e) => e.name))
    return [`s${i} lacks ${names.filter((name, j) => j !== i && !seen.has(name)).join(',')}`]
  })
  throw new Error(
    `${missing.length} of ${nodes.length} nodes did not list every other within ${CONVERGE_TIMEOUT} ms: ${missing.slice(0, 5).join('; ')}`,
  )
}

/** Every node's `discover` view: all the others, online. */
async function checkListing(apis: ControlClient[]): Promise<void> {
  for (const [i, api] of apis.entries()) {
    const peers = await api.get<PeerJson[]>('/v1/peers')
    const online = peers.filter((p) => p.status === 'online').length
    if (online !== apis.length - 1) {
      throw new Error(`node s${i} lists ${online} online peers, expected ${apis.length - 1}`)
    }
  }
}

async function idle(nodes: BenchNode[]) {
  const pids = nodes.map((n) => n.proc.pid!)
  const before = pids.map(cpuMs)
  const threadsBefore = pids.map(threadsCpu)
  const t0 = performance.now()
  await sleep(IDLE_WINDOW)
  const wall = performance.now() - t0
  const used = pids.map((pid, i) => cpuMs(pid) - before[i]!)
  const byThread = threadSplit(pids, threadsBefore, pids.map(threadsCpu), wall)
  const mem = pids.map(memoryMiB)
  const total = used.reduce((a, b) => a + b, 0)
  // per node of each variant of an A/B run (BENCH_BINS), % of one core
  const pss = mem.map((m) => m.pss)
  const rss = mem.map((m) => m.rss)
  const mean = (xs: number[], v: number) => {
    const mine = xs.filter((_, i) => i % VARIANTS.length === v)
    return mine.reduce((a, b) => a + b, 0) / mine.length
  }
  return {
    variants:
      VARIANTS.length > 1
        ? VARIANTS.map((bin, v) => ({
            bin: bin ?? 'default',
            perNode: round((mean(used, v) / wall) * 100, 3),
            pssMeanMiB: round(mean(pss, v)),
            rssMeanMiB: round(mean(rss, v)),
          }))
        : undefined,
    cpuPercent: (total / wall) * 100,
    cpuMs: used,
    byThread,
    rss,
    pss,
    uss: mem.map((m) => m.uss),
  }
}

/**
 * Where the idle CPU of the whole mesh went, by kind of thread (the main thread runs JavaScript and the
 * event loop; V8's workers collect garbage and compile; libuv's pool does fs and crypto work): % of one
 * core in user and kernel mode, and wake-ups a second (voluntary context switches).
 */
function threadSplit(pids: number[], before: ThreadCpu[][], after: ThreadCpu[][], wallMs: number) {
  const kinds = new Map<string, { userMs: number; systemMs: number; wakeups: number }>()
  for (const [i, pid] of pids.entries()) {
    const was = new Map(before[i]!.map((t) => [t.tid, t]))
    for (const t of after[i]!) {
      const b = was.get(t.tid)
      const kind = t.tid === pid ? 'main' : t.name.replace(/\d+$/, '').trim()
      const k = kinds.get(kind) ?? { userMs: 0, systemMs: 0, wakeups: 0 }
      k.userMs += t.userMs - (b?.userMs ?? 0)
      k.systemMs += t.systemMs - (b?.systemMs ?? 0)
      k.wakeups += t.voluntarySwitches - (b?.voluntarySwitches ?? 0)
      kinds.set(kind, k)
    }
  }
  return Object.fromEntries(
    [...kinds]
      .sort((a, b) => b[1].userMs + b[1].systemMs - a[1].userMs - a[1].systemMs)
      .map(([kind, k]) => [
        kind,
        {
          userPercent: round((k.userMs / wallMs) * 100, 2),
          systemPercent: round((k.systemMs / wallMs) * 100, 2),
          wakeupsPerSecond: round((k.wakeups / wallMs) * 1000, 1),
        },
      ]),
  )
}

/** Time from the broadcast call until the last other node logged it (node clocks: same host). */
async function broadcastReach(
  nodes: BenchNode[],
  apis: ControlClient[],
  missed: Array<{ broadcast: number; id: string; node: string; author: string }>,
): Promise<number[]> {
  const reach: number[] = []
  for (let s = 0; s < BROADCASTS; s++) {
    const author = (s * 7) % nodes.length
    const t0 = Date.now()
    const b = await apis[author]!.post<BroadcastJson>('/v1/broadcast', {
      content: `sample ${s}`,
      topic: 'bench',
    })
    const arrivals = await Promise.all(
      nodes.map((n, i) =>
        i === author
          ? undefined
          : n
              .waitEvent((e) => e.event === 'broadcast_received' && e.id === b.id, 30_000)
              .catch(() => {
                missed.push({ broadcast: s, id: b.id, node: `s${i}`, author: `s${author}` })
                return undefined
              }),
      ),
    )
    const times = arrivals.filter((e) => e != null).map(eventTime)
    if (times.length === nodes.length - 1) reach.push(Math.max(...times) - t0)
  }
  if (missed.length > 0) {
    // a broadcast missed live still arrives by anti-entropy (knowledge sync); say which and whether it did
    await sleep(MISSED_GRACE)
    for (const m of missed) {
      const list = await apis[Number(m.node.slice(1))]!.get<BroadcastJson[]>(
        '/v1/knowledge?topic=bench&limit=1000',
      )
      const late = list.some((b) => b.id === m.id)
      console.log(
        `  missed live: broadcast ${m.broadcast} from ${m.author} at ${m.node}${late ? ', arrived later' : ''}`,
      )
    }
  }
  return reach
}

/** Delegate-to-poll latency between random pairs while other nodes keep broadcasting. */
async function busyTasks(apis: ControlClient[], peerIds: string[]) {
  let busy = true
  let sent = 0
  const t0 = performance.now()
  const background = (async () => {
    if (BUSY_RATE === 0) return
    const gap = 1000 / BUSY_RATE
    let next = performance.now()
    while (busy) {
      const author = sent % apis.length
      await apis[author]!.post('/v1/broadcast', { content: `busy ${sent} ${'x'.repeat(200)}`, topic: 'busy' })
      sent++
      next += gap
      await sleep(Math.max(0, next - performance.now()))
    }
  })()
  const latencies: number[] = []
  try {
    await sleep(1_000)
    for (let i = 0; i < TASKS; i++) {
      const from = Math.floor(Math.random() * apis.length)
      const to = (from + 1 + Math.floor(Math.random() * (apis.length - 1))) % apis.length
      const polling = apis[to]!.get<EventJson[]>('/v1/poll?wait=10000&types=task', { timeout: 20_000 })
      await sleep(2)
      const s = performance.now()
      const task = await apis[from]!.post<TaskJson>('/v1/tasks', { to: peerIds[to], task: `task ${i}` })
      const got = await polling
      if (!got.some((e) => e.id === task.id))
        throw new Error(`task ${task.id} was not in the receiver's poll`)
      latencies.push(performance.now() - s)
    }
  } finally {
    busy = false
    await background
  }
  return { latencies, busyPerSecond: sent / ((performance.now() - t0) / 1000) }
}

async function runOne(n: number): Promise<ScaleRun> {
  const w = world()
  const nodes: BenchNode[] = []
  const stopAll = () => Promise.all(nodes.map((node) => node.stop()))
  const onSignal = () => {
    for (const node of nodes) node.proc.kill('SIGKILL')
    w.cleanup()
    process.exit(130)
  }
  process.once('SIGINT', onSignal)
  try {
    const firstSpawn = Date.now()
    await startMesh(n, w.env, nodes)
    const lastStart = Math.max(
      ...nodes.map((node) => eventTime(node.events.find((e) => e.event === 'started')!)),
    )
    const convergedAt = await converged(nodes)
    const apis = nodes.map(
      (_, i) =>
        new ControlClient(dataDirPaths(`${w.home}/agents/s${i}`).socket, `s${i}`, { keepAlive: true }),
    )
    await checkListing(apis)
    console.log(`  ${n} nodes list each other ${convergedAt - lastStart} ms after the last one started`)

    // the idle figure is the steady state: past the start-up announcements, gossipsub's first mesh
    // rounds and presence's member syncs of each node's first minute
    await sleep(IDLE_SETTLE)
    const quiet = await idle(nodes)
    console.log(`  idle mesh: ${round(quiet.cpuPercent, 2)} % of one core`)
    for (const v of quiet.variants ?? [])
      console.log(
        `  per node of ${v.bin}: ${v.perNode} % of one core, PSS ${v.pssMeanMiB} MiB, RSS ${v.rssMeanMiB} MiB`,
      )
    for (const [kind, k] of Object.entries(quiet.byThread)) {
      console.log(
        `    ${kind}: user ${k.userPercent} %, system ${k.systemPercent} %, ${k.wakeupsPerSecond} wake-ups/s (all nodes)`,
      )
    }
    await checkListing(apis)
    const degrees = await Promise.all(apis.map((api) => api.get<StatusJson>('/v1/status')))
    const maxConnectedPeers = Math.max(...degrees.map((s) => s.peers.connected))
    const maxMeshPeers = Math.max(
      ...degrees.map((s) => new Set(s.connections.filter((c) => !c.onDemand).map((c) => c.peer)).size),
    )
    console.log(`  connected peers per node at idle: at most ${maxConnectedPeers} (${maxMeshPeers} kept)`)

    const missed: Array<{ broadcast: number; id: string; node: string; author: string }> = []
    const reach = await broadcastReach(nodes, apis, missed)
    const tasks = await busyTasks(
      apis,
      nodes.map((node) => node.peerId),
    )
    return {
      nodes: n,
      convergeFromLastStartMs: convergedAt - lastStart,
      convergeFromFirstSpawnMs: convergedAt - firstSpawn,
      broadcastMedianMs: median(reach),
      broadcastP99Ms: percentile(reach, 99),
      broadcastMaxMs: Math.max(...reach),
      broadcastsMissedLive: missed.length,
      taskMedianMs: round(median(tasks.latencies), 2),
      taskP99Ms: round(percentile(tasks.latencies, 99), 2),
      busyBroadcastsPerSecond: round(tasks.busyPerSecond, 1),
      rssMedianMiB: round(median(quiet.rss)),
      rssMaxMiB: round(Math.max(...quiet.rss)),
      pssMeanMiB: round(quiet.pss.reduce((a, b) => a + b, 0) / n),
      ussMeanMiB: round(quiet.uss.reduce((a, b) => a + b, 0) / n),
      idleCpuPercentOfOneCore: round(quiet.cpuPercent, 2),
      idleCpuPercentPerNode: round(quiet.cpuPercent / n, 3),
      idleCpuByThread: quiet.byThread,
      ...(quiet.variants != null ? { idleCpuVariants: quiet.variants } : {}),
      maxConnectedPeers,
      maxMeshPeers,
      samples: {
        broadcast: reach,
        task: tasks.latencies.map((x) => round(x, 2)),
        rss: quiet.rss.map((x) => round(x)),
        pss: quiet.pss.map((x) => round(x)),
        cpuMs: quiet.cpuMs.map((x) => round(x)),
      },
    }
  } finally {
    await stopAll()
    process.off('SIGINT', onSignal)
    w.cleanup()
  }
}

export async function runScaleBench(): Promise<void> {
  const sizes = sizesFromEnv()
  const runs: ScaleRun[] = []
  const failed: Array<{ nodes: number; error: string }> = []
  for (const n of sizes) {
    console.log(`mesh of ${n} node processes`)
    try {
      runs.push(await runOne(n))
    } catch (err) {
      // a size that does not converge is a result too: keep the others and say why this one failed
      const error = (err as Error).message
      console.log(`  FAILED: ${error}`)
      failed.push({ nodes: n, error })
    }
  }
  printTable(
    'Mesh size (separate node processes, loopback; mDNS plus --peer to the first node)',
    runs.map((r) => ({
      nodes: r.nodes,
      'converge ms (from last start)': r.convergeFromLastStartMs,
      'converge ms (from first spawn)': r.convergeFromFirstSpawnMs,
      'broadcast median ms': r.broadcastMedianMs,
      'broadcast p99 ms': r.broadcastP99Ms,
      'task median ms (busy)': r.taskMedianMs,
      'task p99 ms (busy)': r.taskP99Ms,
    })),
  )
  printTable(
    `Memory per node and idle CPU (${IDLE_WINDOW / 1000} s window)`,
    runs.map((r) => ({
      nodes: r.nodes,
      'RSS median MiB': r.rssMedianMiB,
      'RSS max MiB': r.rssMaxMiB,
      'PSS mean MiB': r.pssMeanMiB,
      'USS mean MiB': r.ussMeanMiB,
      'idle CPU % of one core': r.idleCpuPercentOfOneCore,
      'per node %': r.idleCpuPercentPerNode,
    })),
  )
  const path = saveResult('scale', {
    settings: {
      broadcasts: BROADCASTS,
      tasks: TASKS,
      busyRate: BUSY_RATE,
      idleWindowMs: IDLE_WINDOW,
      idleSettleMs: IDLE_SETTLE,
    },
    runs,
    failed,
  })
  console.log(`\nwrote ${path}`)
  if (runs.length > 0) for (const chart of writeScaleCharts(runs)) console.log(`wrote ${chart}`)
  if (failed.length > 0) process.exitCode = 1
}

if (import.meta.url === `file://${process.argv[1]}`) await runScaleBench()
