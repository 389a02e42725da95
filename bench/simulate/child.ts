// One simulation size in a process of its own (bench/simulate.ts starts it with a larger heap and kills
// it when its time is up). Settings come as one JSON argument; progress goes to stderr and the
// result, as one JSON line, to stdout.
import * as core from '../../dist/core/index.js'
import { encodeKeyFile, generateKey } from '../../dist/home/mesh-key.js'
import type { SimCore } from './network.ts'
import { runScenario, type ScenarioInit } from './scenario.ts'

// the build's classes and the sources' types are the same code; TypeScript sees two declarations
const built = { ...core, encodeKeyFile, generateKey } as unknown as SimCore

const init = JSON.parse(process.argv[2] ?? '{}') as ScenarioInit
const t0 = performance.now()
// each phase's result goes out as it finishes, so a run cut short still reports what it measured
const result = await runScenario(built, {
  ...init,
  partial: (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
  progress: (line) =>
    process.stderr.write(`  [${init.nodes}, ${Math.round((performance.now() - t0) / 1000)} s] ${line}\n`),
})
process.stdout.write(`${JSON.stringify(result)}\n`)
// timers of nodes that did not start cleanly must not keep the process alive
process.exit(0)
