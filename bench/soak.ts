// `npm run soak -- [--duration 10m] [--kill-every 60s] [--nodes 5] ...`: five real nodes under
// continuous load while one is SIGKILLed and restarted every interval; exits 1 on any loss, duplicate
// or RSS growth past the bound, 2 on a usage error. The logic is in bench/soak/ (the test runs it too).
import { saveResult } from './lib.ts'
import { runSoak } from './soak/index.ts'
import { parseSoakArgs, SoakUsageError, USAGE } from './soak/options.ts'
import { formatSoak } from './soak/report.ts'

let parsed: ReturnType<typeof parseSoakArgs>
try {
  parsed = parseSoakArgs(process.argv.slice(2))
} catch (err) {
  if (!(err instanceof SoakUsageError)) throw err
  console.error(`soak: ${err.message}\nusage: ${USAGE}`)
  process.exit(2)
}
if (parsed.help) {
  console.log(`usage: ${USAGE}`)
  process.exit(0)
}
const { options, json } = parsed
options.log = (line) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`)
try {
  const result = await runSoak(options)
  console.log(json ? JSON.stringify(result, null, 2) : formatSoak(result))
  console.error(`result written to ${saveResult('soak', result)}`)
  process.exitCode = result.ok ? 0 : 1
} catch (err) {
  console.error(`soak: ${(err as Error).message}`)
  process.exitCode = 1
}
