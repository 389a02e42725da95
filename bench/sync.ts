// Issue 13 figures: one knowledge and one file-map sync pass between two nodes that are already in sync,
// at 1,000 / 10,000 / 100,000 broadcasts of history and a map of 10,000 keys: bytes on the sync stream
// (both ways, the application's bytes: length prefixes and protobuf) and wall time, beside one round
// trip of a bare libp2p stream measured in the same run. Stores are seeded directly (both sides hold
// the same rows), so the figures are those of the sync protocol alone.
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { type ClawLinkNode, createNode, EventLog, resolveNodeOptions } from '../dist/core/index.js'
import { countStreamBytes } from '../test/helpers/stream-bytes.ts'
import { libp2pEcho } from './baselines.ts'
import { median, printTable, round, saveResult, world } from './lib.ts'

const SIZES = (process.env.BENCH_SYNC_SIZES ?? '1000,10000,100000').split(',').map(Number)
const FILE_KEYS = Number(process.env.BENCH_SYNC_FILE_KEYS ?? 10_000)
const PASSES = 9

class Quiet extends Writable {
  override _write(_c: Buffer, _e: string, cb: () => void): void {
    cb()
  }
}

type Node = ClawLinkNode

async function start(home: ReturnType<typeof world>, name: string): Promise<Node> {
  const options = resolveNodeOptions({
    name,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    env: home.env,
    json: true,
    mdns: false,
    knowledgeMax: 1_000_000,
  })
  return createNode({ options, log: new EventLog(true, new Quiet(), new Quiet()) })
}

// seeds many rows in one transaction
const tx = (n: Node, fn: () => void) => n.store.transaction(fn)

function seedBroadcasts(nodes: Node[], count: number): void {
  const now = Date.now()
  const raw = randomBytes(300)
  const rows = Array.from({ length: count }, (_, i) => ({
    id: randomBytes(16).toString('hex'),
    author: 'bench',
    topic: 'bench',
    tags: [],
    content: `history ${i}`,
    time: now - count + i,
    raw,
  }))
  for (const n of nodes)
    tx(n, () => {
      for (const b of rows) n.knowledgeStore.put(b)
    })
}

function seedFiles(nodes: Node[], keys: number): void {
  const raw = randomBytes(200)
  const rows = Array.from({ length: keys }, (_, i) => ({
    id: randomBytes(16).toString('hex'),
    key: `bench/f${i}.txt`,
    version: 1,
    base: 0,
    author: 'bench',
    time: Date.now(),
    // above the eager size: no node fetches the (absent) content
    size: 100 * 1024 * 1024,
    sha256: randomBytes(32).toString('hex'),
    mediaType: 'text/plain',
    deleted: false,
    raw,
  }))
  for (const n of nodes)
    tx(n, () => {
      for (const e of rows) n.fileStore.put(e)
    })
}

async function pass(asker: Node, peer: Node, which: 'knowledge' | 'files') {
  const ms: number[] = []
  const bytes: number[] = []
  while (ms.length < PASSES) {
    const t0 = performance.now()
    const r = await countStreamBytes(asker, asker[which].syncProtocol, () =>
      asker[which].syncFrom(peer.peerId),
    )
    // a pass asked for while another with the peer runs opens no stream: not a measurement
    if (r.streams !== 1) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      continue
    }
    ms.push(performance.now() - t0)
    bytes.push(r.bytes)
  }
  return { ms: median(ms), bytes: median(bytes) }
}

export async function runSyncBench(): Promise<void> {
  const echo = await libp2pEcho()
  const rtt: number[] = []
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now()
    await echo.roundTrip(randomBytes(64))
    rtt.push(performance.now() - t0)
  }
  await echo.close()
  const echoMs = median(rtt)
  const rows: Array<Record<string, string | number>> = []
  const plan: Array<{ what: 'knowledge' | 'files'; size: number }> = [
    ...SIZES.map((size) => ({ what: 'knowledge' as const, size })),
    { what: 'files', size: FILE_KEYS },
  ]
  for (const { what, size } of plan) {
    const w = world()
    const nodes: Node[] = []
    try {
      nodes.push(await start(w, 'sync-a'), await start(w, 'sync-b'))
      const [a, b] = nodes as [Node, Node]
      const t0 = performance.now()
      if (what === 'knowledge') seedBroadcasts(nodes, size)
      else seedFiles(nodes, size)
      const seedMs = performance.now() - t0
      await b.libp2p.dial(a.libp2p.getMultiaddrs()[0]!)
      // the passes a connection starts (on connect, and once the peer's subscription arrives) end first
      await new Promise((r) => setTimeout(r, 3_000 + size / 50))
      const first = await pass(b, a, what)
      rows.push({
        sync: what,
        history: size,
        'seed ms': round(seedMs),
        'in-sync pass bytes': first.bytes,
        'in-sync pass ms': round(first.ms, 2),
        'libp2p echo ms': round(echoMs, 3),
        'pass / echo': round(first.ms / echoMs, 1),
      })
    } finally {
      await Promise.allSettled(nodes.map((n) => n.stop()))
      w.cleanup()
    }
  }
  printTable('One sync pass between two nodes already in sync (in-process, loopback)', rows)
  saveResult('sync', { rows, echoMs })
}

if (import.meta.url === `file://${process.argv[1]}`) await runSyncBench()
