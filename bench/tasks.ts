// Issue 3 figures: delegate-to-poll latency and task throughput between two nodes on loopback, beside a
// bare libp2p stream echo and a raw TCP echo measured in the same run.

import type { EventJson, TaskJson } from '../dist/api/types.js'
import { ControlClient } from '../dist/client/control-client.js'
import { dataDirPaths } from '../dist/home/paths.js'
import { type Echo, libp2pEcho, load, tcpEcho } from './baselines.ts'
import { median, percentile, printTable, round, saveResult, spawnNode, world } from './lib.ts'

const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 200)
const THROUGHPUT_TASKS = Number(process.env.BENCH_THROUGHPUT_TASKS ?? 1000)
const PAYLOAD = 'x'.repeat(256)

/** Collects the receiver's events with one long poll at a time and hands each to whoever waits for it. */
class Collector {
  private readonly waiting = new Map<string, () => void>()
  private readonly arrived = new Set<string>()
  private running = true
  private readonly api: ControlClient
  constructor(api: ControlClient) {
    this.api = api
    void this.loop()
  }
  private async loop(): Promise<void> {
    while (this.running) {
      let events: EventJson[]
      try {
        events = await this.api.get<EventJson[]>('/v1/poll?wait=1000&limit=1000', { timeout: 10_000 })
      } catch (err) {
        if (!this.running) return
        throw err
      }
      for (const e of events) {
        const w = this.waiting.get(e.id)
        if (w != null) {
          this.waiting.delete(e.id)
          w()
        } else this.arrived.add(e.id)
      }
    }
  }
  wait(id: string): Promise<void> {
    if (this.arrived.delete(id)) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`task ${id} did not reach the receiver in 60 s`)),
        60_000,
      )
      this.waiting.set(id, () => {
        clearTimeout(timer)
        resolve()
      })
    })
  }
  stop(): void {
    this.running = false
  }
}

function stats(latencies: number[]) {
  return { median: median(latencies), p99: percentile(latencies, 99) }
}

export async function runTasksBench(): Promise<void> {
  const w = world()
  // e.g. BENCH_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile both nodes under load
  if (process.env.BENCH_NODE_OPTIONS != null) w.env.NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS
  const listen = ['--listen', '/ip4/127.0.0.1/tcp/0']
  const a = await spawnNode(['--name', 'bench-a', ...listen], w.env)
  // the receiver never answers here, so let its inbox hold every task the run sends
  const b = await spawnNode(
    ['--name', 'bench-b', '--max-inbox', '1000000', '--task-rate', '1000000', ...listen],
    w.env,
  )
  const tcp = await tcpEcho()
  const p2p: Echo = await libp2pEcho()
  try {
    await a.waitEvent((e) => e.event === 'peer_online')
    const apiA = new ControlClient(dataDirPaths(`${w.home}/agents/bench-a`).socket, 'bench-a')
    const apiB = new ControlClient(dataDirPaths(`${w.home}/agents/bench-b`).socket, 'bench-b')
    const to = b.peerId
    const payload = new TextEncoder().encode(PAYLOAD)

    // latency: the receiver is already waiting in a long poll when delegate is called
    const taskLatency: number[] = []
    for (let i = 0; i < LATENCY_SAMPLES + 10; i++) {
      const polling = apiB.get<EventJson[]>('/v1/poll?wait=10000', { timeout: 20_000 })
      await new Promise((r) => setTimeout(r, 2))
      const t0 = performance.now()
      await apiA.post<TaskJson>('/v1/tasks', { to, task: PAYLOAD })
      const got = await polling
      if (got.length !== 1) throw new Error(`expected one event, got ${got.length}`)
      if (i >= 10) taskLatency.push(performance.now() - t0) // first ones warm up
    }
    const tcpLatency = (await load(LATENCY_SAMPLES, 1, () => tcp.roundTrip(payload))).latencies
    const p2pLatency = (await load(LATENCY_SAMPLES, 1, () => p2p.roundTrip(payload))).latencies

    const collector = new Collector(apiB)
    const throughput: Array<Record<string, number | string>> = []
    for (const inFlight of [1, 64]) {
      const tasks = await load(THROUGHPUT_TASKS, inFlight, async () => {
        const t = await apiA.post<TaskJson>('/v1/tasks', { to, task: PAYLOAD })
        await collector.wait(t.id)
      })
      const conns = await Promise.all(Array.from({ length: inFlight }, () => tcp.connection()))
      const raw = await load(THROUGHPUT_TASKS * 5, inFlight, (_i, worker) =>
        conns[worker]!.roundTrip(payload),
      )
      for (const c of conns) await c.close()
      const bare = await load(THROUGHPUT_TASKS * 2, inFlight, () => p2p.roundTrip(payload))
      throughput.push({
        'in flight': inFlight,
        'tasks/s': round(tasks.perSecond),
        'libp2p echo/s': round(bare.perSecond),
        'tcp echo/s': round(raw.perSecond),
        'tasks vs libp2p': round(tasks.perSecond / bare.perSecond, 3),
        'tasks vs tcp': round(tasks.perSecond / raw.perSecond, 4),
      })
    }
    collector.stop()

    const t = stats(taskLatency)
    const l = stats(p2pLatency)
    const r = stats(tcpLatency)
    const latencyRows = [
      { path: 'delegate → waiting poll', 'median ms': round(t.median, 2), 'p99 ms': round(t.p99, 2) },
      { path: 'bare libp2p stream echo', 'median ms': round(l.median, 2), 'p99 ms': round(l.p99, 2) },
      { path: 'raw TCP echo', 'median ms': round(r.median, 3), 'p99 ms': round(r.p99, 3) },
      {
        path: 'ratio task / libp2p, task / tcp',
        'median ms': `${round(t.median / l.median, 1)}x, ${round(t.median / r.median, 0)}x`,
        'p99 ms': `${round(t.p99 / l.p99, 1)}x, ${round(t.p99 / r.p99, 0)}x`,
      },
    ]
    printTable(
      `Task latency, ${LATENCY_SAMPLES} samples, ${PAYLOAD.length}-byte task (two node processes, loopback)`,
      latencyRows,
    )
    printTable(
      `Task throughput, ${THROUGHPUT_TASKS} tasks each (delegate call until the receiver's poll has it)`,
      throughput,
    )
    saveResult('tasks', {
      latency: latencyRows,
      throughput,
      samples: { task: taskLatency, libp2p: p2pLatency, tcp: tcpLatency },
    })
  } finally {
    await Promise.all([a.stop(), b.stop(), tcp.close(), p2p.close()])
    w.cleanup()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runTasksBench()
