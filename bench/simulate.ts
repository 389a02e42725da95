// `npm run bench -- simulate [--nodes N]`: the issue-17 simulation. Hundreds of real ClawLink nodes
// (createNode, the node's own libp2p stack and protocols) in one process over libp2p's in-memory
// transport with 5 ms links, on a bounded random topology (bench/simulate/). Each size runs in a child
// process with a larger heap and a time budget; a size that runs out of time is reported, not waited for.
// The child runs in virtual time unless SIM_CLOCK=real (bench/simulate/virtual-clock.ts): each node
// then costs no time for its CPU, as on a network where every node has its own.
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HEARTBEAT_INTERVAL } from '../dist/protocols/presence/constants.js'
import { paceStretch } from '../dist/protocols/presence/peer-table.js'
import { type ChartSpec, lineChart } from './chart.ts'
import { intFromEnv, printTable, saveResult } from './lib.ts'
import type { ScenarioInit, ScenarioResult } from './simulate/scenario.ts'

const MAX_NODES = 1000
const CHILD = fileURLToPath(new URL('./simulate/child.ts', import.meta.url))
const IMG = fileURLToPath(new URL('../docs/img/', import.meta.url))

/** `--nodes N` (after `simulate`) runs one size; otherwise SIM_SIZES or 50,100,200,500. */
export function simSizes(argv: string[], env: NodeJS.ProcessEnv): number[] {
  const i = argv.indexOf('--nodes')
  const raw = i >= 0 ? argv[i + 1] : (env.SIM_SIZES ?? '50,100,200,500')
  const sizes = (raw ?? '').split(',').map(Number)
  if (sizes.length > 10 || sizes.some((n) => !Number.isInteger(n) || n < 2 || n > MAX_NODES)) {
    throw new Error(`--nodes / SIM_SIZES: up to 10 comma-separated sizes, each 2-${MAX_NODES}`)
  }
  return sizes
}

/** SIM_CLOCK: 'virtual' (the default) or 'real'. */
export function simClock(env: NodeJS.ProcessEnv): 'real' | 'virtual' {
  const c = env.SIM_CLOCK ?? 'virtual'
  if (c !== 'real' && c !== 'virtual') throw new Error(`SIM_CLOCK: 'virtual' or 'real', not '${c}'`)
  return c
}

/**
 * Where the idle window starts by default, after the last start: past half of the presence heartbeat
 * interval at this size (30 s × nodes / 5). Each node's first heartbeat falls at random between 0.5 and
 * 1.5 intervals after its start, so from half an interval on the mesh heartbeats at its steady rate;
 * before, it sends only what a start sends (at 50 nodes the interval is 300 s). And past every node's
 * first minute (fast member syncs). In virtual time the wait costs CPU only.
 */
function idleAfter(nodes: number): number {
  const interval = HEARTBEAT_INTERVAL * paceStretch(nodes)
  return Math.max(65_000, Math.round(interval / 2) + 10_000)
}

function settings(nodes: number): ScenarioInit {
  return {
    nodes,
    clock: simClock(process.env),
    latency: intFromEnv('SIM_LATENCY', 5, 0, 1000),
    dials: intFromEnv('SIM_DIALS', 4, 1, 50),
    batch: intFromEnv('SIM_BATCH', 10, 1, 100),
    pace: intFromEnv('SIM_PACE', 10_000, 0, 600_000),
    convergeTimeout: intFromEnv('SIM_CONVERGE_TIMEOUT', 120_000, 1_000, 600_000),
    broadcasts: intFromEnv('SIM_BROADCASTS', 20, 1, 1000),
    deliveryTimeout: 5_000,
    idleWindow: intFromEnv('SIM_IDLE_WINDOW', 60_000, 1_000, 600_000),
    idleAfter: intFromEnv(
      'SIM_IDLE_AFTER',
      simClock(process.env) === 'virtual' ? idleAfter(nodes) : 0,
      0,
      7_200_000,
    ),
    churnWindow: intFromEnv('SIM_CHURN_WINDOW', 60_000, 0, 600_000),
    churnPerMinute: 0.1,
    churnDownFor: 10_000,
    reconvergeTimeout: 60_000,
  }
}

/**
 * Runs one size in a child process. Resolves with its last reported result, complete or cut short by
 * the time budget (then `cutShort` says why); rejects only when it reported nothing.
 */
function runChild(init: ScenarioInit, budgetMs: number): Promise<SimRun> {
  return new Promise((resolve, reject) => {
    const heap = intFromEnv('SIM_HEAP_MB', 6_000, 512, 64_000)
    const child = spawn(process.execPath, [`--max-old-space-size=${heap}`, CHILD, JSON.stringify(init)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      // the `debug` loggers of every stream would otherwise ask whether stderr is a terminal each time
      // one is created: a system call per logger, 1.5 % of a 50-node run's CPU
      env: { ...process.env, DEBUG_COLORS: process.env.DEBUG_COLORS ?? '0' },
    })
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    let cutShort: string | null = null
    const timer = setTimeout(() => {
      cutShort = `stopped at its time budget of ${budgetMs / 1000} s`
      child.kill('SIGKILL')
    }, budgetMs)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      const line = out
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .at(-1)
      cutShort ??= code === 0 ? null : `exited with ${code ?? signal}`
      if (line == null) reject(new Error(cutShort ?? 'reported nothing'))
      else resolve({ ...(JSON.parse(line) as ScenarioResult), cutShort })
    })
  })
}

export type SimRun = ScenarioResult & { cutShort: string | null }

export function writeSimCharts(runs: SimRun[], virtual = false): string[] {
  const at = (f: (r: SimRun) => number | null | undefined): Array<[number, number]> =>
    runs.flatMap((r) => {
      const y = f(r)
      return y == null || !Number.isFinite(y) ? [] : [[r.nodes, y] as [number, number]]
    })
  const x = `simulated nodes (one process, 5 ms links, ${virtual ? 'virtual' : 'real'} time)`
  const charts: Record<string, ChartSpec> = {
    'sim-converge.svg': {
      title: `Simulation: convergence and broadcast delivery${virtual ? ' (virtual time)' : ''}`,
      xLabel: x,
      yLabel: 's',
      series: [
        {
          name: 'everyone lists everyone (s after the last start)',
          points: at((r) => (r.convergeMs ?? Number.NaN) / 1000),
        },
        {
          name: 'broadcast delivery p99 (s)',
          points: at((r) => (r.broadcast?.deliveryMs.p99 ?? Number.NaN) / 1000),
          dashed: true,
        },
        {
          name: 'broadcast delivery during churn p99 (s)',
          points: at((r) => (r.churn?.deliveryMs.p99 ?? Number.NaN) / 1000),
          dashed: true,
        },
      ],
      marks: [
        { y: 5, label: 'target: converge in 5 s' },
        { y: 1, label: 'target: p99 1 s' },
      ],
    },
    'sim-idle.svg': {
      title: `Simulation: idle traffic per node per minute${virtual ? ' (virtual time)' : ''}`,
      xLabel: x,
      yLabel: 'transport messages / node / minute',
      series: [
        { name: 'mean', points: at((r) => r.idle?.messagesPerNodeMinute.mean) },
        { name: 'max', points: at((r) => r.idle?.messagesPerNodeMinute.max), dashed: true },
      ],
    },
    'sim-coverage.svg': {
      title: `Simulation: broadcast coverage${virtual ? ' (virtual time)' : ''}`,
      xLabel: x,
      yLabel: '% of (broadcast, node) pairs delivered within 5 s',
      series: [
        { name: 'quiet mesh', points: at((r) => r.broadcast?.coveragePercent) },
        { name: '10 % churn per minute', points: at((r) => r.churn?.coveragePercent), dashed: true },
      ],
      marks: [{ y: 100, label: 'target: 100 %' }],
    },
  }
  mkdirSync(IMG, { recursive: true })
  return Object.entries(charts).flatMap(([name, spec]) => {
    if (spec.series.every((s) => s.points.length === 0)) return []
    spec.series = spec.series.filter((s) => s.points.length > 0)
    const path = join(IMG, virtual ? name.replace(/^sim-/, 'sim-virtual-') : name)
    writeFileSync(path, lineChart(spec))
    return [path]
  })
}

export async function runSimulateBench(argv = process.argv.slice(2)): Promise<void> {
  const sizes = simSizes(argv, process.env)
  const budget = intFromEnv('SIM_BUDGET', 900, 10, 14_400) * 1000
  const runs: SimRun[] = []
  const failed: Array<{ nodes: number; error: string }> = []
  for (const n of sizes) {
    console.log(`simulating ${n} nodes (budget ${budget / 1000} s)`)
    try {
      const run = await runChild(settings(n), budget)
      if (run.cutShort != null) console.log(`  cut short (${run.cutShort}) after: ${run.phases.join(', ')}`)
      runs.push(run)
    } catch (err) {
      const error = (err as Error).message
      console.log(`  FAILED: ${error}`)
      failed.push({ nodes: n, error })
    }
  }
  const ms = (x: number | null | undefined) => (x == null ? 'no' : x)
  printTable(
    `Simulation: convergence and broadcasts (5 ms links, ${simClock(process.env)} time)`,
    runs.map((r) => ({
      nodes: r.nodes,
      'start ms': r.startMs,
      'converge ms (after last / first start)': `${ms(r.convergeMs)} / ${ms(r.convergeFromFirstStartMs)}`,
      'degree min/median/max': `${r.degree.min}/${r.degree.median}/${r.degree.max}`,
      'delivery p50/p99/max ms':
        r.broadcast == null
          ? '-'
          : `${r.broadcast.deliveryMs.p50}/${r.broadcast.deliveryMs.p99}/${r.broadcast.deliveryMs.max}`,
      'coverage %': r.broadcast?.coveragePercent ?? '-',
      'idle msgs/node/min': r.idle?.messagesPerNodeMinute.mean ?? '-',
      'idle bytes/node/min': r.idle?.bytesPerNodeMinute.mean ?? '-',
      'idle cpu % of a core': r.idle?.cpuPercent ?? '-',
      'cpu s start/converge': `${r.cpuSeconds.start ?? '-'}/${r.cpuSeconds.converge ?? '-'}`,
      'real s per phase': Object.entries(r.realSeconds ?? {})
        .map(([p, s]) => `${p} ${s}`)
        .join(', '),
      'churn coverage %': r.churn?.coveragePercent ?? '-',
      'churn p99 ms': r.churn?.deliveryMs.p99 ?? '-',
      'load avg': r.loadAverage,
    })),
  )
  // virtual-time runs keep their own result file and charts beside the real-time ones
  const virtual = simClock(process.env) === 'virtual'
  const path = saveResult(virtual ? 'simulate-virtual' : 'simulate', { settings: settings(0), runs, failed })
  console.log(`\nwrote ${path}`)
  if (runs.length > 0) for (const chart of writeSimCharts(runs, virtual)) console.log(`wrote ${chart}`)
  if (failed.length > 0 || runs.some((r) => r.cutShort != null)) process.exitCode = 1
}

if (import.meta.url === `file://${process.argv[1]}`) await runSimulateBench()
