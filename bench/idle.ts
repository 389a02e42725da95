// Issue 13 figure: what an idle node costs (CPU, RSS, anonymous memory, PSS) beside, in the same window,
// the code from before issue 13 (commit 77a5392, built once into a cache folder) and a bare Node process
// as the floor. Each build runs as two nodes that see each other (own home, mesh key and mDNS tag).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  type BenchNode,
  cpuMs,
  intFromEnv,
  median,
  memoryMiB,
  printTable,
  round,
  saveResult,
  spawnNode,
  world,
} from './lib.ts'

const BASELINE_COMMIT = '77a5392'
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const LISTEN = ['--listen', '/ip4/127.0.0.1/tcp/0']

/** the measured window, after the nodes are connected and settled */
const WINDOW = intFromEnv('BENCH_IDLE_WINDOW', 30_000, 1_000, 300_000)
/** quiet time after both pairs are connected: start-up announcements, first sync passes, gossipsub rounds */
const SETTLE = intFromEnv('BENCH_IDLE_SETTLE', 10_000, 0, 120_000)
const SAMPLE_EVERY = 1_000
/** pairs of nodes per build: one pair's RSS varies by a few MiB from run to run */
const PAIRS = intFromEnv('BENCH_IDLE_PAIRS', 3, 1, 10)

/** The baseline's bin/clawlink.js, built on first use; undefined (with the reason printed) if it cannot be. */
export function baselineBin(): string | undefined {
  const dir =
    process.env.BENCH_BASELINE_DIR ??
    join(ROOT, 'node_modules', '.cache', `clawlink-baseline-${BASELINE_COMMIT}`)
  const bin = join(dir, 'bin', 'clawlink.js')
  if (existsSync(join(dir, 'dist', 'cli', 'main.js'))) return bin
  console.log(`  building ${BASELINE_COMMIT} into ${dir} (once)`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  // its dependencies resolve from this checkout's node_modules (the cache folder is inside it; the
  // lockfile differs from today's only by dependency-cruiser, a dev tool)
  const steps: Array<[string, string[], string]> = [
    ['sh', ['-c', `git -C '${ROOT}' archive ${BASELINE_COMMIT} | tar -x -C '${dir}'`], ROOT],
    [
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      dir,
    ],
  ]
  for (const [cmd, args, cwd] of steps) {
    const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 })
    if (r.status !== 0) {
      console.log(
        `  cannot build ${BASELINE_COMMIT}: ${cmd} exited ${r.status}: ${r.stderr.toString().slice(0, 500)}`,
      )
      rmSync(dir, { recursive: true, force: true })
      return undefined
    }
  }
  return bin
}

/** Two nodes of one build that see each other, connected. */
async function pair(
  label: string,
  bin: string | undefined,
): Promise<{ nodes: BenchNode[]; cleanup(): void }> {
  const w = world()
  const nodes: BenchNode[] = []
  try {
    nodes.push(await spawnNode(['--name', `${label}-a`, ...LISTEN], w.env, undefined, { bin }))
    nodes.push(
      await spawnNode(['--name', `${label}-b`, ...LISTEN, '--peer', nodes[0]!.addrs[0]!], w.env, undefined, {
        bin,
      }),
    )
    await nodes[0]!.waitEvent((e) => e.event === 'peer_online' && e.name === `${label}-b`, 60_000)
    await nodes[1]!.waitEvent((e) => e.event === 'peer_online' && e.name === `${label}-a`, 60_000)
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()))
    w.cleanup()
    throw err
  }
  return { nodes, cleanup: w.cleanup }
}

interface Measured {
  process: string
  cpuPercent: number
  rss: number
  anon: number
  pss: number
  uss: number
}

/** CPU over the window; memory as the median of one sample a second. */
async function measure(procs: Array<{ name: string; pid: number }>): Promise<Measured[]> {
  const samples = procs.map(() => [] as Array<ReturnType<typeof memoryMiB>>)
  const cpu0 = procs.map((p) => cpuMs(p.pid))
  const t0 = performance.now()
  while (performance.now() - t0 < WINDOW) {
    await new Promise((r) => setTimeout(r, Math.min(SAMPLE_EVERY, WINDOW - (performance.now() - t0))))
    for (const [i, p] of procs.entries()) samples[i]!.push(memoryMiB(p.pid))
  }
  const wall = performance.now() - t0
  return procs.map((p, i) => {
    const of = (k: keyof ReturnType<typeof memoryMiB>) => median(samples[i]!.map((s) => s[k]))
    return {
      process: p.name,
      cpuPercent: ((cpuMs(p.pid) - cpu0[i]!) / wall) * 100,
      rss: of('rss'),
      anon: of('anon'),
      pss: of('pss'),
      uss: of('uss'),
    }
  })
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length

function meanOf(rows: Measured[], prefix: string): Omit<Measured, 'process'> {
  const mine = rows.filter((r) => r.process.startsWith(prefix))
  return {
    cpuPercent: mean(mine.map((r) => r.cpuPercent)),
    rss: mean(mine.map((r) => r.rss)),
    anon: mean(mine.map((r) => r.anon)),
    pss: mean(mine.map((r) => r.pss)),
    uss: mean(mine.map((r) => r.uss)),
  }
}

const FIELDS = ['rss', 'anon', 'pss', 'uss', 'cpuPercent'] as const
export type Figures = Omit<Measured, 'process'>

/**
 * Runs `pairs` pairs of every build and a bare Node process at once, then measures them all in one window:
 * the mean figures of each build's nodes, and of the bare process under the label 'bare'.
 */
export async function measureBuilds(
  builds: Array<{ label: string; bin: string | undefined }>,
  pairs: number,
): Promise<{ perBuild: Map<string, Figures>; rows: Measured[] }> {
  const running: Array<{ label: string; nodes: BenchNode[]; cleanup(): void }> = []
  let bare: ChildProcess | undefined
  const onSignal = () => {
    bare?.kill('SIGKILL')
    for (const p of running) for (const n of p.nodes) n.proc.kill('SIGKILL')
    process.exit(130)
  }
  process.once('SIGINT', onSignal)
  try {
    for (let i = 0; i < pairs; i++) {
      for (const b of builds) running.push({ label: b.label, ...(await pair(`${b.label}${i}`, b.bin)) })
    }
    bare = spawn(process.execPath, ['-e', 'setInterval(()=>{},1e9)'], { stdio: 'ignore' })
    await new Promise((r) => setTimeout(r, SETTLE))
    const procs = [
      ...running.flatMap((p) =>
        p.nodes.map((n) => ({ name: `${p.label}:${n.events[0]!.name}`, pid: n.proc.pid! })),
      ),
      { name: 'bare:', pid: bare.pid! },
    ]
    const rows = await measure(procs)
    const perBuild = new Map<string, Figures>()
    for (const label of [...builds.map((b) => b.label), 'bare'])
      perBuild.set(label, meanOf(rows, `${label}:`))
    return { perBuild, rows }
  } finally {
    process.off('SIGINT', onSignal)
    bare?.kill('SIGKILL')
    await Promise.all(running.flatMap((p) => p.nodes.map((n) => n.stop())))
    for (const p of running) p.cleanup()
  }
}

export async function runIdleBench(): Promise<void> {
  const base = baselineBin()
  const builds = [{ label: 'now', bin: undefined }, ...(base != null ? [{ label: 'base', bin: base }] : [])]
  const { perBuild, rows } = await measureBuilds(builds, PAIRS)
  const now = perBuild.get('now')!
  const baseline = perBuild.get('base')
  const floor = perBuild.get('bare')!
  const fmt = (label: string, m: Figures) => ({
    process: label,
    'RSS MiB': round(m.rss),
    'anon MiB': round(m.anon),
    'PSS MiB': round(m.pss),
    'USS MiB': round(m.uss),
    'CPU % of one core': round(m.cpuPercent, 2),
  })
  const ratio = (label: string, a: Figures, b: Figures) => ({
    process: label,
    'RSS MiB': round(a.rss / b.rss, 2),
    'anon MiB': round(a.anon / b.anon, 2),
    'PSS MiB': round(a.pss / b.pss, 2),
    'USS MiB': round(a.uss / b.uss, 2),
    'CPU % of one core': round(a.cpuPercent / b.cpuPercent, 2),
  })
  const nodes = `mean of ${PAIRS * 2} nodes`
  const table = [
    fmt(`this build (${nodes})`, now),
    ...(baseline != null ? [fmt(`${BASELINE_COMMIT} (${nodes})`, baseline)] : []),
    fmt("bare `node -e 'setInterval(()=>{},1e9)'`", floor),
    ...(baseline != null ? [ratio(`ratio this / ${BASELINE_COMMIT}`, now, baseline)] : []),
  ]
  printTable(`Idle node, ${WINDOW / 1000} s window, ${SETTLE / 1000} s after every pair connected`, table)
  if (base == null) console.log('  baseline not built: compare with issue 13 (RSS 89 MiB, anon 33 MiB)')
  const path = saveResult('idle', {
    settings: {
      windowMs: WINDOW,
      settleMs: SETTLE,
      sampleEveryMs: SAMPLE_EVERY,
      pairs: PAIRS,
      baseline: BASELINE_COMMIT,
    },
    processes: rows.map((r) =>
      Object.fromEntries([['process', r.process], ...FIELDS.map((f) => [f, round(r[f], 2)])]),
    ),
    summary: table,
  })
  console.log(`\nwrote ${path}`)
}

if (import.meta.url === `file://${process.argv[1]}`) await runIdleBench()
