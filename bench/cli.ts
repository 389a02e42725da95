// Issue 8 figures: the cold time of CLI calls an agent makes most, each a new process, beside the cold
// time of Node itself (`node -e ''`) measured in the same run, interleaved so both see the same load.
import {
  BIN,
  median,
  percentile,
  printTable,
  round,
  saveResult,
  spawnNode,
  timeCommand,
  world,
} from './lib.ts'

const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 30)
const LISTEN = ['--listen', '/ip4/127.0.0.1/tcp/0']

export async function runCliBench(): Promise<void> {
  if (!Number.isInteger(RUNS) || RUNS < 1 || RUNS > 1000) throw new Error('BENCH_CLI_RUNS must be 1-1000')
  const w = world()
  const a = await spawnNode(['--name', 'cli-a', ...LISTEN], w.env)
  const b = await spawnNode(['--name', 'cli-b', ...LISTEN], w.env)
  try {
    await a.waitEvent((e) => e.event === 'peer_online' && e.name === 'cli-b')
    const env = { ...w.env, CLAWLINK_AGENT: 'cli-a' }
    const commands: Record<string, string[]> = {
      "node -e ''": ['-e', ''],
      'clawlink discover --json': [BIN, 'discover', '--json'],
      'clawlink poll --json': [BIN, 'poll', '--json'],
    }
    const times = Object.fromEntries(Object.keys(commands).map((k) => [k, [] as number[]]))
    for (let i = 0; i < RUNS + 2; i++) {
      for (const [name, args] of Object.entries(commands)) {
        const r = timeCommand(args, env)
        if (r.status !== 0) throw new Error(`${name} exited with ${r.status}`)
        if (i >= 2) times[name]!.push(r.ms) // the first runs warm the disk cache
      }
    }
    const bare = median(times["node -e ''"]!)
    const rows = Object.entries(times).map(([name, ms]) => ({
      command: name,
      runs: ms.length,
      'median ms': round(median(ms)),
      'p90 ms': round(percentile(ms, 90)),
      'min ms': round(Math.min(...ms)),
      'vs node -e': round(median(ms) / bare, 2),
    }))
    printTable('CLI cold start, each call a new process (the node has one peer)', rows)
    const path = saveResult('cli', { rows, samples: times })
    console.log(`\nwrote ${path}`)
  } finally {
    await Promise.all([a.stop(), b.stop()])
    w.cleanup()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runCliBench()
