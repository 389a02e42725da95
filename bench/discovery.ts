// Issue 2 figures: how fast a second agent appears, how fast the CLI answers, what an idle node costs.
import { join } from 'node:path'
import {
  type BenchNode,
  BIN,
  cpuMs,
  median,
  percentile,
  printTable,
  round,
  rssMiB,
  saveResult,
  spawnNode,
  timeCommand,
  world,
} from './lib.ts'

const RUNS = Number(process.env.BENCH_RUNS ?? 10)
const LISTEN = ['--listen', '/ip4/127.0.0.1/tcp/0']

async function joinTimes(mode: 'mdns' | 'peer'): Promise<{ fromSpawn: number[]; fromStarted: number[] }> {
  const w = world()
  const fromSpawn: number[] = []
  const fromStarted: number[] = []
  const first = await spawnNode(
    ['--name', 'first', ...LISTEN, ...(mode === 'peer' ? ['--no-mdns'] : [])],
    w.env,
  )
  try {
    for (let i = 0; i < RUNS; i++) {
      const name = `second-${i}`
      const args = mode === 'peer' ? ['--no-mdns', '--peer', first.addrs[0]!] : []
      const second: BenchNode = await spawnNode(['--name', name, ...LISTEN, ...args], w.env)
      const seen = await first.waitEvent((e) => e.event === 'peer_online' && e.name === name)
      const started = second.events.find((e) => e.event === 'started')!
      fromSpawn.push((seen.receivedAt as number) - second.spawnedAt)
      fromStarted.push(Date.parse(seen.time as string) - Date.parse(started.time as string))
      await second.stop()
    }
  } finally {
    await first.stop()
    w.cleanup()
  }
  return { fromSpawn, fromStarted }
}

async function cliAndIdle(): Promise<Record<string, number>> {
  const w = world()
  const a = await spawnNode(['--name', 'idle-a', ...LISTEN], w.env)
  const b = await spawnNode(['--name', 'idle-b', ...LISTEN], w.env)
  try {
    await a.waitEvent((e) => e.event === 'peer_online')
    const discover: number[] = []
    const bare: number[] = []
    const env = { ...w.env, CLAWLINK_AGENT: 'idle-a' }
    for (let i = 0; i < 20; i++) {
      const r = timeCommand([BIN, 'discover', '--json'], env)
      if (r.status !== 0) throw new Error('discover failed')
      discover.push(r.ms)
      bare.push(timeCommand(['-e', ''], env).ms)
    }
    // idle: settle, then measure RSS and CPU over a quiet window
    await new Promise((r) => setTimeout(r, 5_000))
    const window = 20_000
    const cpu0 = cpuMs(a.proc.pid!)
    await new Promise((r) => setTimeout(r, window))
    const cpu1 = cpuMs(a.proc.pid!)
    return {
      discoverMedianMs: round(median(discover)),
      discoverP90Ms: round(percentile(discover, 90)),
      bareNodeMedianMs: round(median(bare)),
      discoverVsBareNode: round(median(discover) / median(bare), 2),
      idleRssMiB: round(rssMiB(a.proc.pid!)),
      idleCpuPercent: round(((cpu1 - cpu0) / window) * 100, 2),
    }
  } finally {
    await Promise.all([a.stop(), b.stop()])
    w.cleanup()
  }
}

export async function runDiscoveryBench(): Promise<void> {
  const mdns = await joinTimes('mdns')
  const peer = await joinTimes('peer')
  const cli = await cliAndIdle()
  const rows = [
    {
      mode: 'mDNS',
      runs: RUNS,
      'median from spawn ms': round(median(mdns.fromSpawn)),
      'median from started ms': round(median(mdns.fromStarted)),
      'max from spawn ms': round(Math.max(...mdns.fromSpawn)),
    },
    {
      mode: '--peer',
      runs: RUNS,
      'median from spawn ms': round(median(peer.fromSpawn)),
      'median from started ms': round(median(peer.fromStarted)),
      'max from spawn ms': round(Math.max(...peer.fromSpawn)),
    },
  ]
  printTable("Second agent appears in the first one's discover (separate processes, loopback)", rows)
  printTable('CLI cold start and idle node', [cli])
  const path = saveResult('discovery', { join: { mdns, peer }, summary: rows, cli })
  console.log(`\nwrote ${join(path)}`)
}

if (import.meta.url === `file://${process.argv[1]}`) await runDiscoveryBench()
