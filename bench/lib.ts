// Shared helpers for benchmarks: spawning real nodes, timing, statistics, result files.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** BENCH_BIN runs another build (e.g. a copy with a tuning under test) */
export const BIN = process.env.BENCH_BIN ?? fileURLToPath(new URL('../bin/clawlink.js', import.meta.url))
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))

/** An integer setting from the environment, `fallback` when unset; throws when out of range. */
export function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name]
  const n = raw == null || raw === '' ? fallback : Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer ${min}-${max}`)
  return n
}

export function median(xs: number[]): number {
  return percentile(xs, 50)
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))
  return s[i]!
}

export function round(x: number, digits = 1): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

export function machine(): Record<string, unknown> {
  return {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    date: new Date().toISOString(),
  }
}

export function saveResult(name: string, data: unknown): string {
  mkdirSync(RESULTS, { recursive: true })
  const path = join(RESULTS, `${name}.json`)
  writeFileSync(path, `${JSON.stringify({ machine: machine(), ...(data as object) }, null, 2)}\n`)
  return path
}

export function printTable(title: string, rows: Array<Record<string, string | number>>): void {
  console.log(`\n${title}`)
  if (rows.length === 0) return
  const headers = Object.keys(rows[0]!)
  const widths = headers.map((h) => Math.max(h.length, ...rows.map((r) => String(r[h]).length)))
  console.log(headers.map((h, i) => h.padEnd(widths[i]!)).join('  '))
  for (const r of rows) console.log(headers.map((h, i) => String(r[h]).padEnd(widths[i]!)).join('  '))
}

export interface BenchWorld {
  home: string
  env: NodeJS.ProcessEnv
  cleanup(): void
}

/** A private home, mesh key and mDNS tag for one benchmark. */
export function world(): BenchWorld {
  const home = mkdtempSync(join(tmpdir(), 'clawlink-bench-'))
  const key = `/key/swarm/psk/1.0.0/\n/base16/\n${randomBytes(32).toString('hex')}\n`
  const tag = `_clb-${randomBytes(4).toString('hex')}._udp.local`
  return {
    home,
    env: { PATH: process.env.PATH, CLAWLINK_HOME: home, CLAWLINK_KEY: key, CLAWLINK_MDNS_TAG: tag },
    cleanup: () => rmSync(home, { recursive: true, force: true }),
  }
}

export interface BenchNode {
  proc: ChildProcess
  spawnedAt: number
  peerId: string
  addrs: string[]
  events: Array<Record<string, unknown>>
  /** Resolves with the first event matching `pred` (already seen or future). */
  waitEvent(pred: (e: Record<string, unknown>) => boolean, timeout?: number): Promise<Record<string, unknown>>
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>
}

export function spawnNode(
  args: string[],
  env: NodeJS.ProcessEnv,
  dataDir?: string,
  /** run under a command (e.g. ip netns exec NS) and as another subcommand (relay) */
  opts: { wrap?: string[]; command?: string; startTimeout?: number; bin?: string } = {},
): Promise<BenchNode> {
  const spawnedAt = Date.now()
  const dirArgs = dataDir != null ? ['--data-dir', dataDir] : []
  const full = [
    ...(opts.wrap ?? []),
    process.execPath,
    opts.bin ?? BIN,
    opts.command ?? 'node',
    '--json',
    ...dirArgs,
    ...args,
  ]
  const proc = spawn(full[0]!, full.slice(1), {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const events: Array<Record<string, unknown>> = []
  const waiters: Array<{
    pred: (e: Record<string, unknown>) => boolean
    resolve: (e: Record<string, unknown>) => void
  }> = []
  let buf = ''
  let stderr = ''
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString()
    let nl = buf.indexOf('\n')
    while (nl >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      nl = buf.indexOf('\n')
      if (line === '') continue
      const e = JSON.parse(line) as Record<string, unknown>
      e.receivedAt = Date.now()
      events.push(e)
      for (const w of [...waiters]) {
        if (w.pred(e)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve(e)
        }
      }
    }
  })
  const exited = new Promise<void>((r) => proc.on('close', () => r()))
  const waitEvent = (pred: (e: Record<string, unknown>) => boolean, timeout = 30_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const found = events.find(pred)
      if (found != null) return resolve(found)
      const timer = setTimeout(
        () => reject(new Error(`event not seen in ${timeout} ms; stderr: ${stderr}`)),
        timeout,
      )
      waiters.push({
        pred,
        resolve: (e) => {
          clearTimeout(timer)
          resolve(e)
        },
      })
    })
  // a node that does not start in time is killed, not left behind
  const starting = waitEvent((e) => e.event === 'started', opts.startTimeout ?? 60_000).catch(
    (err: Error) => {
      proc.kill('SIGKILL')
      throw err
    },
  )
  return starting.then((started) => ({
    proc,
    spawnedAt,
    peerId: started.peerId as string,
    addrs: started.addrs as string[],
    events,
    waitEvent,
    async stop(graceMs = 15_000) {
      if (proc.exitCode == null && proc.signalCode == null) proc.kill('SIGTERM')
      // a node that does not stop in time is killed, so a benchmark never leaves processes behind
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }))
}

/** Resident set size of a process, in MiB (Linux). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN)
  return kb / 1024
}

/**
 * Memory of a process in MiB (Linux): RSS counts every page it maps, including the node executable's
 * code that all node processes share; PSS divides shared pages among their users; USS is private only.
 */
export function memoryMiB(pid: number): { rss: number; pss: number; uss: number; anon: number } {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? Number.NaN)
  // RssAnon: the process's own heap and stacks, none of it shared with other node processes
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const anonKb = Number(/RssAnon:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN)
  return {
    rss: kb('Rss') / 1024,
    pss: kb('Pss') / 1024,
    uss: (kb('Private_Clean') + kb('Private_Dirty')) / 1024,
    anon: anonKb / 1024,
  }
}

let clockTicks: number | undefined

/** CPU time (user+system) a process used so far, in ms (Linux). */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim() || 100)
  return (ticks / clockTicks) * 1000
}

/** One thread's CPU so far (Linux): its name, user and system time (ms) and context switches. */
export interface ThreadCpu {
  tid: number
  name: string
  userMs: number
  systemMs: number
  /** the thread slept and was woken again (a wake-up: a timer, a socket, a futex) */
  voluntarySwitches: number
  involuntarySwitches: number
}

/** Every thread of a process, so that idle CPU splits into user and kernel time, and into wake-ups. */
export function threadsCpu(pid: number): ThreadCpu[] {
  clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim() || 100)
  const out: ThreadCpu[] = []
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ')
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8')
      const count = (re: RegExp) => Number(re.exec(status)?.[1] ?? 0)
      out.push({
        tid: Number(tid),
        name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
        userMs: (Number(fields[11]) / clockTicks) * 1000,
        systemMs: (Number(fields[12]) / clockTicks) * 1000,
        voluntarySwitches: count(/voluntary_ctxt_switches:\s+(\d+)/),
        involuntarySwitches: count(/nonvoluntary_ctxt_switches:\s+(\d+)/),
      })
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out
}

/** Wall time of a command run to completion, in ms. */
export function timeCommand(args: string[], env: NodeJS.ProcessEnv): { ms: number; status: number | null } {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  return { ms: performance.now() - t0, status: r.status }
}
