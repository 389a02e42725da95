// One simulation size in a process of its own (bench/simulate.ts starts it with a larger heap and kills
// it when its time is up). Settings come as one JSON argument; progress goes to stderr and the
// result, as one JSON line, to stdout.
//
// With `clock: 'virtual'` in the settings, the process runs on a discrete-event clock
// (virtual-clock.ts), installed before the node code is loaded.
//
// SIM_CPU_PROF=DIR writes one V8 CPU profile per phase (DIR/sim-<nodes>-<phase>.cpuprofile; read them
// with bench/simulate/profile-top.ts); SIM_FRAMES=1 counts the yamux frames sent (frames.ts);
// SIM_ANNOUNCES=1 counts presence announcements by reason (announces.ts).
import { mkdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import type { SimCore } from './network.ts'
import type { ScenarioInit } from './scenario.ts'
import { realNow, realTimers, VirtualClock } from './virtual-clock.ts'

const init = JSON.parse(process.argv[2] ?? '{}') as ScenarioInit
const t0 = realNow()
const clock = init.clock === 'virtual' ? new VirtualClock().install() : undefined
void clock?.drive()

// loaded after the clock is installed, so nothing in them holds a real timer function
const core = await import('../../dist/core/index.js')
const { encodeKeyFile, generateKey } = await import('../../dist/home/mesh-key.js')
const { countFrames } = await import('./frames.ts')
const { runScenario } = await import('./scenario.ts')
// the build's classes and the sources' types are the same code; TypeScript sees two declarations
const built = { ...core, encodeKeyFile, generateKey } as unknown as SimCore
const frames = process.env.SIM_FRAMES === '1' ? await countFrames() : undefined
const announces =
  process.env.SIM_ANNOUNCES === '1'
    ? (await import('./announces.ts')).countAnnounces(
        (await import('../../dist/protocols/presence/presence.js')).Presence,
        (await import('../../dist/protocols/presence/heartbeat.js')).Heartbeat,
      )
    : undefined

/** Starts the profiler; each call of the result writes what was sampled since and starts anew. */
async function profiler(dir: string): Promise<(phase: string) => Promise<void>> {
  mkdirSync(dir, { recursive: true })
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 1000 })
  await session.post('Profiler.start')
  return async (phase) => {
    const { profile } = await session.post('Profiler.stop')
    writeFileSync(join(dir, `sim-${init.nodes}-${phase}.cpuprofile`), JSON.stringify(profile))
    await session.post('Profiler.start')
  }
}
const profDir = process.env.SIM_CPU_PROF
const mark = profDir != null && profDir !== '' ? await profiler(profDir) : undefined

// An exception thrown outside any node's promise chain (seen at 200 nodes: @libp2p/yamux opening a
// stream, in a microtask, on a connection that closed in between) would end the whole simulation; it
// is counted and reported instead.
const uncaught = { count: 0, first: [] as string[] }
process.on('uncaughtException', (err) => {
  uncaught.count++
  if (uncaught.first.length < 3) uncaught.first.push(`${err.name}: ${err.message}`)
  process.stderr.write(`  [${init.nodes}] uncaught: ${err.name}: ${err.message}\n`)
})

const clockStats = () => (clock == null ? undefined : { ...clock.stats, realTimers: realTimers() })

// each phase's result goes out as it finishes, so a run cut short still reports what it measured
const result = await runScenario(built, {
  ...init,
  ...(mark != null ? { mark } : {}),
  ...(frames != null ? { frames, rpcs: {} } : {}),
  ...(announces != null ? { announces } : {}),
  partial: (r) => process.stdout.write(`${JSON.stringify({ ...r, uncaught, clockStats: clockStats() })}\n`),
  progress: (line) =>
    process.stderr.write(`  [${init.nodes}, ${Math.round((realNow() - t0) / 1000)} s real] ${line}\n`),
})
process.stdout.write(`${JSON.stringify({ ...result, uncaught, clockStats: clockStats() })}\n`)
// timers of nodes that did not start cleanly must not keep the process alive
process.exit(0)
