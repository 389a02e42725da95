// Delegate-to-poll latency and task throughput between two nodes on loopback, on empty stores and on
// stores holding BENCH_SEED_TASKS (1,000,000) tasks, beside baselines measured in the same run: one
// fsync'd SQLite commit, a bare libp2p echo (a new stream per message, and a long-lived stream), and a
// raw TCP echo.

import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import type { DelegateBatchJson, EventJson, StatusCounters, StatusJson, TaskJson } from '../dist/api/types.js'
import { ControlClient } from '../dist/client/control-client.js'
import { dataDirPaths } from '../dist/home/paths.js'
import { fsyncCommits, libp2pEcho, load, tcpEcho } from './baselines.ts'
import { median, percentile, printTable, round, saveResult, spawnNode, world } from './lib.ts'

const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 200)
const THROUGHPUT_TASKS = Number(process.env.BENCH_THROUGHPUT_TASKS ?? 1000)
/** runs with 64 in flight (the median one is reported) */
const THROUGHPUT_RUNS = Number(process.env.BENCH_THROUGHPUT_RUNS ?? 3)
/** tasks per batch request in the batch rows (64 in flight: 64 / BATCH requests) */
const BATCH = 16
/** BENCH_BATCH=0 leaves the batch rows out (a build without /v1/tasks/batch, run with BENCH_BIN) */
const BATCH_RUNS = process.env.BENCH_BATCH === '0' ? 0 : THROUGHPUT_RUNS
const SEED_TASKS = Number(process.env.BENCH_SEED_TASKS ?? 1_000_000)
const SEED_BROADCASTS = Number(process.env.BENCH_SEED_BROADCASTS ?? 100_000)
const PAYLOAD = 'x'.repeat(256)

/** Collects the receiver's events with one long poll at a time and hands each to whoever waits for it. */
class Collector {
  private readonly waiting = new Map<string, () => void>()
  private readonly arrived = new Set<string>()
  private running = true
  private readonly done: Promise<void>
  private readonly api: ControlClient
  constructor(api: ControlClient) {
    this.api = api
    this.done = this.loop()
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
  /** Resolves once its last poll is answered, so no later poll of ours races the next collector. */
  async stop(): Promise<void> {
    this.running = false
    await this.done.catch(() => {})
  }
}

function stats(latencies: number[]) {
  return { median: median(latencies), p99: percentile(latencies, 99) }
}

type Api = ControlClient

/** delegate -> a poll already waiting on the receiver, one at a time (the first ones warm up). */
async function latency(apiA: Api, apiB: Api, to: string, samples: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < samples + 10; i++) {
    const polling = apiB.get<EventJson[]>('/v1/poll?wait=10000', { timeout: 20_000 })
    await new Promise((r) => setTimeout(r, 2))
    const t0 = performance.now()
    await apiA.post<TaskJson>('/v1/tasks', { to, task: PAYLOAD })
    const got = await polling
    if (got.length !== 1) throw new Error(`expected one event, got ${got.length}`)
    if (i >= 10) out.push(performance.now() - t0)
  }
  return out
}

/** What one side did for a run, per 1,000 tasks (from its status counters), and per commit. */
interface SideCounts {
  commitsPer1k: number
  syncsPer1k: number
  workPerCommit: number
  /** pieces of work per WAL sync */
  workPerSync: number
  /** WAL syncs a piece of work waited for, on average (1 = none was running when it came) */
  syncsWaitedPerWork: number
  cpuUsPerTask: number
}

interface Counted {
  perSecond: number
  sender: SideCounts
  receiver: SideCounts
  /** the benchmark client's own CPU per task */
  clientCpuUsPerTask: number
}

const countersOf = async (api: Api) => (await api.get<StatusJson>('/v1/status')).counters

function side(before: StatusCounters, after: StatusCounters, tasks: number): SideCounts {
  const commits = after.commits - before.commits
  const work = after.commitWork - before.commitWork
  const syncs = after.walSyncs - before.walSyncs
  const cpu = after.cpuUserUs + after.cpuSystemUs - before.cpuUserUs - before.cpuSystemUs
  return {
    commitsPer1k: round((commits / tasks) * 1000),
    syncsPer1k: round((syncs / tasks) * 1000),
    workPerCommit: round(work / commits, 2),
    workPerSync: round(work / syncs, 2),
    syncsWaitedPerWork: round((after.syncWaits - before.syncWaits) / work, 2),
    cpuUsPerTask: round(cpu / tasks),
  }
}

/**
 * Tasks per second with `inFlight` delegations at once, each counted until the receiver's poll has it,
 * with what each node did for them (commits, WAL syncs, CPU: counters that do not depend on how loaded
 * the machine is, unlike the rate).
 */
async function throughput(
  apiA: Api,
  apiB: Api,
  to: string,
  inFlight: number,
  count: number,
  /** tasks per request: 1 posts each to /v1/tasks, more post them together to /v1/tasks/batch */
  batch = 1,
): Promise<Counted> {
  const collector = new Collector(apiB)
  try {
    const [a0, b0] = await Promise.all([countersOf(apiA), countersOf(apiB)])
    const cpu0 = process.cpuUsage()
    const r =
      batch === 1
        ? await load(count, inFlight, async () => {
            const t = await apiA.post<TaskJson>('/v1/tasks', { to, task: PAYLOAD })
            await collector.wait(t.id)
          })
        : await load(count / batch, inFlight / batch, async () => {
            const tasks = Array.from({ length: batch }, () => ({ to, task: PAYLOAD }))
            const { results } = await apiA.post<DelegateBatchJson>('/v1/tasks/batch', { tasks })
            await Promise.all(
              results.map((x) => {
                if (!('task' in x)) throw new Error(`batch delegation refused: ${x.error.message}`)
                return collector.wait(x.task.id)
              }),
            )
          })
    const perSecond = batch === 1 ? r.perSecond : r.perSecond * batch
    const cpu = process.cpuUsage(cpu0)
    // the sender's acks are committed after the receiver's poll has the task: let them land
    await new Promise((resolve) => setTimeout(resolve, 200))
    const [a1, b1] = await Promise.all([countersOf(apiA), countersOf(apiB)])
    return {
      perSecond,
      sender: side(a0, a1, count),
      receiver: side(b0, b1, count),
      clientCpuUsPerTask: round((cpu.user + cpu.system) / count),
    }
  } finally {
    await collector.stop()
  }
}

type Sqlite = typeof import('node:sqlite')
const sqlite = () => createRequire(import.meta.url)('node:sqlite') as Sqlite

/**
 * Writes `count` finished tasks straight into a stopped node's store (and, on the receiver, their
 * handed-out inbox events), in transactions of 100,000 rows. Returns the time it took in ms.
 */
function seed(storePath: string, direction: 'sent' | 'received', peer: string, count: number): number {
  const t0 = performance.now()
  const db = new (sqlite().DatabaseSync)(storePath)
  db.exec('PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL')
  const task = db.prepare(
    `INSERT INTO tasks (id, direction, peer, peer_name, task, context, priority, state, result, reason,
       created_at, updated_at, expires_at) VALUES (?, ?, ?, 'seed', ?, NULL, 'normal', 'completed', 'done', NULL, ?, ?, ?)`,
  )
  const event = db.prepare(
    'INSERT INTO events (type, priority, payload, created_at, seen) VALUES (?, 1, ?, ?, 1)',
  )
  const now = Date.now()
  for (let done = 0; done < count; ) {
    db.exec('BEGIN')
    const end = Math.min(count, done + 100_000)
    for (; done < end; done++) {
      // random (v4) ids, as stores written before ids were time-ordered hold: the harder case for an index
      const id = randomUUID()
      const at = now - (count - done)
      task.run(id, direction, peer, PAYLOAD, at, at, at + 86_400_000)
      if (direction === 'received') event.run('task', JSON.stringify({ type: 'task', id, task: PAYLOAD }), at)
    }
    db.exec('COMMIT')
  }
  db.close()
  return performance.now() - t0
}

/**
 * Writes the same `count` broadcasts into both stopped nodes' stores, each under its own sync sequence,
 * and leaves each node's cursor at the other's head: the stores hold a history and are in sync, as
 * after a long life together. Returns the time it took in ms.
 */
function seedBroadcasts(stores: Array<{ path: string; peer: string }>, count: number): number {
  const t0 = performance.now()
  const now = Date.now()
  const raw = new Uint8Array(300)
  const ids = Array.from({ length: count }, () => randomUUID())
  const heads = stores.map(({ path }) => {
    const db = new (sqlite().DatabaseSync)(path)
    db.exec('PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; BEGIN')
    let seq = Number(
      (db.prepare('SELECT coalesce(max(seq), 0) AS n FROM broadcasts').get() as { n: number }).n,
    )
    const insert =
      db.prepare(`INSERT INTO broadcasts (id, author, topic, tags, content, time, received_at, raw, seq)
      VALUES (?, 'seed', 'seed', '[]', ?, ?, ?, ?, ?)`)
    for (const [i, id] of ids.entries()) insert.run(id, `history ${i}`, now - count + i, now, raw, ++seq)
    db.prepare(`INSERT INTO sync_sequences (service, epoch, seq) VALUES ('knowledge', lower(hex(randomblob(16))), ?)
      ON CONFLICT (service) DO UPDATE SET seq = excluded.seq`).run(seq)
    const { epoch } = db.prepare("SELECT epoch FROM sync_sequences WHERE service = 'knowledge'").get() as {
      epoch: string
    }
    db.exec('COMMIT')
    db.close()
    return { epoch, seq }
  })
  for (const [i, { path }] of stores.entries()) {
    const other = 1 - i
    const db = new (sqlite().DatabaseSync)(path)
    db.prepare(`INSERT INTO sync_cursors (service, peer, epoch, seq) VALUES ('knowledge', ?, ?, ?)
      ON CONFLICT (service, peer) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq`).run(
      stores[other]!.peer,
      heads[other]!.epoch,
      heads[other]!.seq,
    )
    db.close()
  }
  return performance.now() - t0
}

export async function runTasksBench(): Promise<void> {
  const w = world()
  // e.g. BENCH_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile both nodes under load
  if (process.env.BENCH_NODE_OPTIONS != null) w.env.NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS
  const listen = ['--listen', '/ip4/127.0.0.1/tcp/0']
  const argsA = ['--name', 'bench-a', ...listen]
  // the receiver never answers here, so let its inbox hold every task the run sends; the default
  // per-peer rate (200/s) is a bound against floods, lifted here to measure the path itself
  const argsB = ['--name', 'bench-b', '--max-inbox', '1000000', '--task-rate', '1000000', ...listen]
  let a = await spawnNode(argsA, w.env)
  let b = await spawnNode(argsB, w.env)
  const tcp = await tcpEcho()
  const p2p = await libp2pEcho()
  try {
    await a.waitEvent((e) => e.event === 'peer_online')
    // kept connections (keep-alive), as a long-lived client such as the MCP server uses them: a new
    // connection per call would measure the control socket, not the task path (see bench/control.ts)
    const apiA = new ControlClient(dataDirPaths(`${w.home}/agents/bench-a`).socket, 'bench-a', {
      keepAlive: true,
      maxConnections: 64,
    })
    const apiB = new ControlClient(dataDirPaths(`${w.home}/agents/bench-b`).socket, 'bench-b', {
      keepAlive: true,
    })
    const to = b.peerId
    const payload = new TextEncoder().encode(PAYLOAD)

    const taskLatency = await latency(apiA, apiB, to, LATENCY_SAMPLES)
    const counted1 = await throughput(
      apiA,
      apiB,
      to,
      1,
      Number(process.env.BENCH_THROUGHPUT_TASKS_1 ?? THROUGHPUT_TASKS),
    )
    // several runs with 64 in flight: the rate is the median run's; each run's counts are printed
    const runs64: Counted[] = []
    for (let i = 0; i < THROUGHPUT_RUNS; i++)
      runs64.push(await throughput(apiA, apiB, to, 64, THROUGHPUT_TASKS))
    // the same 64 tasks in flight, as 4 batch requests of 16 (one request and one commit for each 16)
    const runsBatch: Counted[] = []
    for (let i = 0; i < BATCH_RUNS; i++)
      runsBatch.push(await throughput(apiA, apiB, to, 64, THROUGHPUT_TASKS, BATCH))
    const counted64 = [...runs64].sort((x, y) => x.perSecond - y.perSecond)[Math.floor(runs64.length / 2)]!
    const countedBatch = [...runsBatch].sort((x, y) => x.perSecond - y.perSecond)[
      Math.floor(runsBatch.length / 2)
    ]
    const tps1 = counted1.perSecond
    const tps64 = counted64.perSecond

    // baselines, in the same run
    const fsyncLatency = fsyncCommits(w.home, LATENCY_SAMPLES)
    const tcpLatency = (await load(LATENCY_SAMPLES, 1, () => tcp.roundTrip(payload))).latencies
    const p2pLatency = (await load(LATENCY_SAMPLES, 1, () => p2p.roundTrip(payload))).latencies
    const longStream = await p2p.stream()
    const longLatency = (await load(LATENCY_SAMPLES, 1, () => longStream.roundTrip(payload))).latencies
    await longStream.close()
    const baselineRate: Record<number, { tcp: number; p2p: number; long: number }> = {}
    for (const inFlight of [1, 64]) {
      const conns = await Promise.all(Array.from({ length: inFlight }, () => tcp.connection()))
      const raw = await load(THROUGHPUT_TASKS * 5, inFlight, (_i, k) => conns[k]!.roundTrip(payload))
      for (const c of conns) await c.close()
      const bare = await load(THROUGHPUT_TASKS * 2, inFlight, () => p2p.roundTrip(payload))
      const streams = await Promise.all(Array.from({ length: inFlight }, () => p2p.stream()))
      const long = await load(THROUGHPUT_TASKS * 2, inFlight, (_i, k) => streams[k]!.roundTrip(payload))
      for (const st of streams) await st.close()
      baselineRate[inFlight] = { tcp: raw.perSecond, p2p: bare.perSecond, long: long.perSecond }
    }

    // the same two figures with SEED_TASKS tasks already in both stores
    let seeded: { latency: number[]; tps64: number; seedMs: number } | undefined
    if (SEED_TASKS > 0) {
      await Promise.all([a.stop(), b.stop()])
      const storeA = dataDirPaths(`${w.home}/agents/bench-a`).store
      const storeB = dataDirPaths(`${w.home}/agents/bench-b`).store
      const seedMs =
        seed(storeA, 'sent', to, SEED_TASKS) +
        seed(storeB, 'received', a.peerId, SEED_TASKS) +
        seedBroadcasts(
          [
            { path: storeA, peer: b.peerId },
            { path: storeB, peer: a.peerId },
          ],
          SEED_BROADCASTS,
        )
      const restartedAt = performance.now()
      // the receiver first, and the sender told where it is (not left to mDNS on a busy machine)
      b = await spawnNode(argsB, w.env)
      a = await spawnNode([...argsA, '--peer', b.addrs[0]!], w.env)
      await a.waitEvent((e) => e.event === 'peer_online', 120_000)
      console.log(
        `seeded ${SEED_TASKS} tasks and ${SEED_BROADCASTS} broadcasts per store in ${round(seedMs / 1000, 1)} s; nodes back online in ${round((performance.now() - restartedAt) / 1000, 1)} s`,
      )
      seeded = {
        latency: await latency(apiA, apiB, to, LATENCY_SAMPLES),
        tps64: (await throughput(apiA, apiB, to, 64, THROUGHPUT_TASKS)).perSecond,
        seedMs,
      }
    }

    const t = stats(taskLatency)
    const f = stats(fsyncLatency)
    const l = stats(p2pLatency)
    const ll = stats(longLatency)
    const r = stats(tcpLatency)
    const row = (path: string, s: { median: number; p99: number }, digits = 2) => ({
      path,
      'median ms': round(s.median, digits),
      'p99 ms': round(s.p99, digits),
      'median vs fsync commit': `${round(s.median / f.median, 1)}x`,
      'median vs libp2p stream': `${round(s.median / l.median, 1)}x`,
    })
    const latencyRows = [
      row('delegate → waiting poll, empty stores', t),
      ...(seeded != null
        ? [
            row(
              `delegate → waiting poll, ${SEED_TASKS} tasks and ${SEED_BROADCASTS} broadcasts in each store`,
              stats(seeded.latency),
            ),
          ]
        : []),
      row('one SQLite commit with fsync (WAL, synchronous=FULL)', f, 3),
      row('bare libp2p echo, new stream per message', l),
      row('bare libp2p echo, long-lived stream', ll),
      row('raw TCP echo', r, 3),
    ]
    const throughputRows = [1, 64].map((inFlight) => {
      const tasks = inFlight === 1 ? tps1 : tps64
      const base = baselineRate[inFlight]!
      return {
        'in flight': inFlight,
        'tasks/s': round(tasks),
        // every row has every column (the table's columns are its first row's)
        ...(seeded != null
          ? { [`tasks/s, ${SEED_TASKS} stored`]: inFlight === 64 ? round(seeded.tps64) : '' }
          : {}),
        ...(runsBatch.length > 0
          ? { [`tasks/s, batches of ${BATCH}`]: inFlight === 64 ? round(countedBatch!.perSecond) : '' }
          : {}),
        'libp2p echo/s (stream per msg)': round(base.p2p),
        'libp2p echo/s (long-lived)': round(base.long),
        'tcp echo/s': round(base.tcp),
        'tasks vs long-lived libp2p': round(tasks / base.long, 3),
      }
    })
    const budget = 2 * f.median + ll.median + 0.5
    const targets = [
      {
        target: `median <= 2 x fsync commit + libp2p echo + 0.5 ms (${round(budget, 2)} ms)`,
        measured: `${round(t.median, 2)} ms`,
        met: t.median <= budget ? 'yes' : 'no',
      },
      { target: 'p99 <= 5 ms', measured: `${round(t.p99, 2)} ms`, met: t.p99 <= 5 ? 'yes' : 'no' },
      {
        target: '>= 8,000 tasks/s, 64 in flight',
        measured: `${round(tps64)}/s`,
        met: tps64 >= 8000 ? 'yes' : 'no',
      },
      ...(countedBatch != null
        ? [
            {
              target: `>= 8,000 tasks/s, 64 in flight as batch requests of ${BATCH}`,
              measured: `${round(countedBatch.perSecond)}/s`,
              met: countedBatch.perSecond >= 8000 ? 'yes' : 'no',
            },
          ]
        : []),
      ...(seeded != null
        ? [
            {
              target: `median with ${SEED_TASKS} stored within 15 %`,
              measured: `${round((stats(seeded.latency).median / t.median - 1) * 100, 1)} %`,
              met: stats(seeded.latency).median <= 1.15 * t.median ? 'yes' : 'no',
            },
            {
              target: `tasks/s with ${SEED_TASKS} stored within 15 %`,
              measured: `${round((seeded.tps64 / tps64 - 1) * 100, 1)} %`,
              met: seeded.tps64 >= 0.85 * tps64 ? 'yes' : 'no',
            },
          ]
        : []),
    ]
    printTable(
      `Task latency, ${LATENCY_SAMPLES} samples, ${PAYLOAD.length}-byte task (two node processes, loopback)`,
      latencyRows,
    )
    printTable(
      `Task throughput, ${THROUGHPUT_TASKS} tasks each (delegate call until the receiver's poll has it)`,
      throughputRows,
    )
    const countRows = [
      { run: '1 in flight', c: counted1 },
      ...runs64.map((c, i) => ({ run: `64 in flight, run ${i + 1}`, c })),
      ...runsBatch.map((c, i) => ({ run: `64 in flight in batches of ${BATCH}, run ${i + 1}`, c })),
    ].flatMap(({ run, c }) =>
      (['sender', 'receiver'] as const).map((who) => ({
        run,
        'tasks/s': round(c.perSecond),
        side: who,
        'commits/1k tasks': c[who].commitsPer1k,
        'WAL syncs/1k tasks': c[who].syncsPer1k,
        'work/commit': c[who].workPerCommit,
        'work/sync': c[who].workPerSync,
        'syncs waited/work': c[who].syncsWaitedPerWork,
        'CPU µs/task': c[who].cpuUsPerTask,
        'client CPU µs/task': c.clientCpuUsPerTask,
      })),
    )
    printTable('What each node did per task (status counters; work = pieces in the group commit)', countRows)
    printTable('Targets (issue 13)', targets)
    if (seeded != null)
      console.log(
        `\nseeding ${SEED_TASKS} tasks and ${SEED_BROADCASTS} broadcasts into each store took ${round(seeded.seedMs / 1000, 1)} s`,
      )
    saveResult('tasks', {
      latency: latencyRows,
      throughput: throughputRows,
      targets,
      counts: countRows,
      seedTasks: SEED_TASKS,
      samples: {
        task: taskLatency,
        taskSeeded: seeded?.latency,
        fsync: fsyncLatency,
        libp2p: p2pLatency,
        libp2pLongLived: longLatency,
        tcp: tcpLatency,
      },
    })
  } finally {
    await Promise.all([a.stop(), b.stop(), tcp.close(), p2p.close()])
    w.cleanup()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runTasksBench()
