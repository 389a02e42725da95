// Issue 4 figures: with 10 node processes on loopback, how long a broadcast takes to reach every other
// node, and how long a newly started node takes to hold a history of 5,000 broadcasts.

import type { BroadcastJson } from '../dist/api/types.js'
import { ControlClient } from '../dist/client/control-client.js'
import { dataDirPaths } from '../dist/home/paths.js'
import { load } from './baselines.ts'
import { type BenchNode, median, percentile, printTable, round, saveResult, spawnNode, world } from './lib.ts'

const NODES = Number(process.env.BENCH_NODES ?? 10)
const SAMPLES = Number(process.env.BENCH_BROADCASTS ?? 100)
const HISTORY = Number(process.env.BENCH_HISTORY ?? 5000)

export async function runKnowledgeBench(): Promise<void> {
  const w = world()
  const listen = ['--listen', '/ip4/127.0.0.1/tcp/0']
  const nodes: BenchNode[] = []
  try {
    for (let i = 0; i < NODES; i++)
      nodes.push(await spawnNode(['--name', `k${i}`, '--broadcast-rate', '100000', ...listen], w.env))
    const api = (i: number) => new ControlClient(dataDirPaths(`${w.home}/agents/k${i}`).socket, `k${i}`)
    // everyone lists everyone
    await Promise.all(
      nodes.map(async (n) => {
        for (let j = 0; j < NODES; j++) {
          if (nodes[j] === n) continue
          await n.waitEvent((e) => e.event === 'peer_online' && e.name === `k${j}`, 60_000)
        }
      }),
    )
    await new Promise((r) => setTimeout(r, 3_000)) // let gossipsub graft its mesh

    const reach: number[] = []
    for (let s = 0; s < SAMPLES; s++) {
      const author = s % NODES
      const t0 = Date.now()
      const b = await api(author).post<BroadcastJson>('/v1/broadcast', {
        content: `sample ${s}`,
        topic: 'bench',
      })
      const arrivals = await Promise.all(
        nodes
          .filter((_, i) => i !== author)
          .map((n) => n.waitEvent((e) => e.event === 'broadcast_received' && e.id === b.id, 30_000)),
      )
      reach.push(Math.max(...arrivals.map((e) => e.receivedAt as number)) - t0)
    }

    // history: one node publishes HISTORY broadcasts; the others receive them live; then a new node joins
    const seeding = await load(HISTORY, 16, (i) =>
      api(0)
        .post('/v1/broadcast', { content: `history ${i} ${'x'.repeat(200)}`, topic: 'history' })
        .then(() => {}),
    )
    await new Promise((r) => setTimeout(r, 3_000))
    const late = await spawnNode(['--name', 'late', ...listen], w.env)
    nodes.push(late)
    const lateApi = new ControlClient(dataDirPaths(`${w.home}/agents/late`).socket, 'late')
    const startedAt = Date.parse(late.events.find((e) => e.event === 'started')!.time as string)
    let heldAt = 0
    for (let i = 0; i < 1200; i++) {
      const held = await lateApi.get<BroadcastJson[]>('/v1/knowledge?topic=history&limit=10000')
      if (held.length >= HISTORY) {
        heldAt = Date.now()
        break
      }
      await new Promise((r) => setTimeout(r, 50))
    }
    if (heldAt === 0) throw new Error('the late node did not get the whole history in 60 s')
    const rows = [
      {
        nodes: NODES,
        broadcasts: SAMPLES,
        'reach all median ms': round(median(reach)),
        'reach all p99 ms': round(percentile(reach, 99)),
        'reach all max ms': round(Math.max(...reach)),
      },
    ]
    const history = [
      {
        history: HISTORY,
        'seeding broadcasts/s': round(seeding.perSecond),
        'late node holds all, from spawn ms': heldAt - late.spawnedAt,
        'from its start ms': heldAt - startedAt,
      },
    ]
    printTable(`Broadcast until every other node holds it (${NODES} node processes, loopback)`, rows)
    printTable('History sync for a node started afterwards', history)
    saveResult('knowledge', { reach: rows, history, samples: reach })
  } finally {
    await Promise.all(nodes.map((n) => n.stop()))
    w.cleanup()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runKnowledgeBench()
