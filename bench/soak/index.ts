// A soak run: N real nodes under continuous load from their agents while one node at a time is
// SIGKILLed and restarted, then judged for loss, duplicates, convergence and memory growth.
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { StatusJson } from '../../dist/api/types.js'
import { SoakAgent, sleep } from './agent.ts'
import { freePort, rssMiB, SoakNode } from './cluster.ts'
import type { SoakOptions } from './options.ts'
import { settle, type TaskTally, verify } from './verify.ts'

const RSS_EVERY = 5_000
const PROGRESS_EVERY = 30_000
const CONNECT_TIMEOUT = 30_000
const START_ATTEMPTS = 3

export interface NodeReport {
  name: string
  /** never killed: its RSS is held to the bound */
  longLived: boolean
  kills: number
  tasks: TaskTally
  broadcastsSent: number
  broadcastsHeld: number
  broadcastsMissing: number
  filesWritten: number
  fileKeys: number
  /** MiB; the start is taken after warm-up (long-lived nodes only) */
  rssStart: number | null
  rssEnd: number | null
  rssMax: number | null
}

export interface SoakResult {
  ok: boolean
  options: Omit<SoakOptions, 'log'>
  /** the load's actual length, ms */
  loadMs: number
  /** how long the mesh took to settle after the load stopped, ms */
  settleMs: number
  nodes: NodeReport[]
  totals: {
    tasksSent: number
    tasksCompleted: number
    tasksLost: number
    duplicates: number
    broadcasts: number
    broadcastsMissing: number
    fileKeys: number
    kills: number
    anomalies: number
  }
  failures: string[]
  /** where the homes are, when kept */
  dir?: string
}

function meshEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    CLAWLINK_HOME: home,
    CLAWLINK_KEY: `/key/swarm/psk/1.0.0/\n/base16/\n${randomBytes(32).toString('hex')}\n`,
    CLAWLINK_MDNS_TAG: `_cls-${randomBytes(4).toString('hex')}._udp.local`,
  }
}

async function startWithRetry(node: SoakNode, peers: string[], log: (line: string) => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await node.start(peers)
    } catch (err) {
      if (attempt >= START_ATTEMPTS) throw err
      log(`${node.name} failed to start (attempt ${attempt}): ${(err as Error).message}`)
      await sleep(1_000)
    }
  }
}

/** Waits until every node is connected to every other one. */
async function waitConnected(nodes: SoakNode[]): Promise<void> {
  const deadline = Date.now() + CONNECT_TIMEOUT
  for (;;) {
    const counts = await Promise.all(
      nodes.map((n) => n.api.get<StatusJson>('/v1/status').then((s) => s.peers.connected)),
    )
    if (counts.every((c) => c >= nodes.length - 1)) return
    if (Date.now() > deadline)
      throw new Error(`the nodes did not all connect in time (connected: ${counts.join(', ')})`)
    await sleep(250)
  }
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? (() => {})
  const dir = mkdtempSync(join(tmpdir(), 'clawlink-soak-'))
  const scratch = join(dir, 'scratch')
  mkdirSync(scratch, { mode: 0o700 })
  mkdirSync(join(dir, 'home'), { mode: 0o700 })
  const env = meshEnv(join(dir, 'home'))
  const ports = await Promise.all(Array.from({ length: options.nodes }, () => freePort()))
  const nodes = ports.map((port, i) => new SoakNode(i, `soak${i}`, port, join(dir, 'home'), env))
  const victims = nodes.slice(nodes.length - options.victims)
  const longLived = nodes.filter((n) => !victims.includes(n))
  const peersOf = (node: SoakNode) => nodes.filter((n) => n !== node).map((n) => n.addr())
  const rss = nodes.map(() => ({ start: null as number | null, end: null as number | null, max: 0 }))
  const agents: SoakAgent[] = []
  const failures: string[] = []

  try {
    log(`starting ${nodes.length} nodes in ${dir}`)
    await startWithRetry(nodes[0]!, [], log)
    await Promise.all(nodes.slice(1).map((n) => startWithRetry(n, [nodes[0]!.addr()], log)))
    await waitConnected(nodes)
    for (const node of nodes) {
      const agent = new SoakAgent(node, nodes, scratch, options)
      agents.push(agent)
      agent.start()
    }

    const t0 = Date.now()
    const end = t0 + options.durationMs
    let nextKill =
      options.killEveryMs > 0 && victims.length > 0 ? t0 + options.killEveryMs : Number.POSITIVE_INFINITY
    let nextRss = t0
    let nextProgress = t0 + PROGRESS_EVERY
    let kills = 0
    log(
      `load running for ${options.durationMs / 1000} s; killing ${victims.map((v) => v.name).join(', ') || 'none'}`,
    )
    while (Date.now() < end) {
      const now = Date.now()
      if (now >= nextRss) {
        sampleRss(nodes, rss)
        if (now - t0 >= options.warmupMs)
          for (const n of longLived) rss[n.index]!.start ??= rssMiB(n.pid) ?? null
        nextRss = now + RSS_EVERY
      }
      // a node that died by itself (a failure, already recorded) is brought back so the run goes on
      for (const n of nodes) if (!n.up) await startWithRetry(n, peersOf(n), log)
      if (now >= nextKill && now + options.downMs < end) {
        const victim = victims[kills++ % victims.length]!
        sampleRss([victim], rss)
        await victim.kill()
        log(`killed ${victim.name} (kill ${kills})`)
        await sleep(options.downMs)
        await startWithRetry(victim, peersOf(victim), log)
        nextKill += options.killEveryMs
      }
      if (now >= nextProgress) {
        log(progress(agents, Math.round((now - t0) / 1000)))
        nextProgress = now + PROGRESS_EVERY
      }
      await sleep(Math.max(0, Math.min(250, end - Date.now())))
    }
    const loadMs = Date.now() - t0
    log(`load stopped after ${Math.round(loadMs / 1000)} s; settling (up to ${options.quiesceMs / 1000} s)`)
    await Promise.all(agents.map((a) => a.stopLoad()))
    const settled = await settle(agents, nodes, options.quiesceMs)
    for (const left of settled.left) failures.push(`not settled after ${options.quiesceMs / 1000} s: ${left}`)
    log(`settled in ${Math.round(settled.ms / 1000)} s; verifying`)
    const verdict = await verify(agents, nodes)
    failures.push(...verdict.failures)
    sampleRss(nodes, rss)
    for (const n of longLived) {
      const r = rss[n.index]!
      r.end = rssMiB(n.pid) ?? null
      if (r.start == null || r.end == null) {
        failures.push(`${n.name}: no RSS reading`)
        continue
      }
      const growth = r.end - r.start
      if (growth > (r.start * options.rssGrowthPct) / 100 || growth > options.rssGrowthMiB) {
        failures.push(
          `${n.name}: RSS grew from ${r.start.toFixed(1)} to ${r.end.toFixed(1)} MiB ` +
            `(bound: ${options.rssGrowthPct}% and ${options.rssGrowthMiB} MiB)`,
        )
      }
    }
    for (const n of nodes) failures.push(...n.crashes)
    for (const a of agents) {
      if (a.anomalyCount > a.anomalies.length)
        failures.push(`${a.name}: ${a.anomalyCount - a.anomalies.length} more anomalies`)
      failures.push(...a.anomalies)
    }

    const reports: NodeReport[] = nodes.map((n, i) => ({
      name: n.name,
      longLived: longLived.includes(n),
      kills: n.kills,
      tasks: verdict.tasks[i]!,
      broadcastsSent: verdict.broadcasts[i]!.sent,
      broadcastsHeld: verdict.broadcasts[i]!.held,
      broadcastsMissing: verdict.broadcasts[i]!.missing,
      filesWritten: agents[i]!.filePuts + agents[i]!.fileRemovals,
      fileKeys: verdict.fileKeys[i]!,
      rssStart: round(rss[i]!.start),
      rssEnd: round(rss[i]!.end),
      rssMax: round(rss[i]!.max),
    }))
    const sum = (f: (r: NodeReport) => number) => reports.reduce((s, r) => s + f(r), 0)
    const { log: _log, ...shown } = options
    return {
      ok: failures.length === 0,
      options: shown,
      loadMs,
      settleMs: settled.ms,
      nodes: reports,
      totals: {
        tasksSent: sum((r) => r.tasks.sent),
        tasksCompleted: sum((r) => r.tasks.completed),
        tasksLost: sum((r) => r.tasks.lost),
        duplicates: sum((r) => r.tasks.duplicates),
        broadcasts: verdict.broadcastTotal,
        broadcastsMissing: sum((r) => r.broadcastsMissing),
        fileKeys: Math.max(0, ...verdict.fileKeys),
        kills: sum((r) => r.kills),
        anomalies: agents.reduce((s, a) => s + a.anomalyCount, 0),
      },
      failures,
      dir: options.keep ? dir : undefined,
    }
  } finally {
    await Promise.all(agents.map((a) => a.stop()))
    await Promise.all(nodes.map((n) => n.stop()))
    await Promise.all(nodes.map((n) => n.closeLog()))
    if (!options.keep) rmSync(dir, { recursive: true, force: true })
  }
}

function sampleRss(nodes: SoakNode[], rss: Array<{ max: number }>): void {
  for (const n of nodes) {
    const mib = rssMiB(n.pid)
    if (mib != null) rss[n.index]!.max = Math.max(rss[n.index]!.max, mib)
  }
}

function round(x: number | null): number | null {
  return x == null || x === 0 ? null : Math.round(x * 10) / 10
}

function progress(agents: SoakAgent[], seconds: number): string {
  let sent = 0
  let done = 0
  let answered = 0
  let broadcasts = 0
  let files = 0
  for (const a of agents) {
    sent += a.delegated.size
    done += a.finals.size
    answered += a.answered.size
    broadcasts += a.broadcasts.size
    files += a.filePuts
  }
  return `${seconds} s: tasks ${sent} sent, ${answered} answered, ${done} completed; ${broadcasts} broadcasts; ${files} file writes`
}
