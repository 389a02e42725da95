// `npm run bench`: every benchmark, each printing a table and writing JSON under bench/results/.
import { runCliBench } from './cli.ts'
import { runControlBench } from './control.ts'
import { runDashboardBench } from './dashboard.ts'
import { runDiscoveryBench } from './discovery.ts'
import { runFilesBench } from './files.ts'
import { runIdleBench } from './idle.ts'
import { runIdleMeshBench } from './idle-mesh.ts'
import { runKnowledgeBench } from './knowledge.ts'
import { runRelayBench } from './relay.ts'
import { runScaleBench } from './scale.ts'
import { runSimulateBench } from './simulate.ts'
import { runSyncBench } from './sync.ts'
import { runTasksBench } from './tasks.ts'

const only = process.argv[2]
const benches: Record<string, () => Promise<void>> = {
  discovery: runDiscoveryBench,
  cli: runCliBench,
  control: runControlBench,
  tasks: runTasksBench,
  knowledge: runKnowledgeBench,
  files: runFilesBench,
  sync: runSyncBench,
  relay: runRelayBench,
  scale: runScaleBench,
  idle: runIdleBench,
  'idle-mesh': runIdleMeshBench,
  dashboard: runDashboardBench,
  // in-memory simulation of hundreds of nodes; takes `--nodes N` after its name
  simulate: () => runSimulateBench(process.argv.slice(3)),
}
for (const [name, run] of Object.entries(benches)) {
  if (only != null && only !== name) continue
  // the simulation runs for many minutes: only when named
  if (only == null && name === 'simulate') continue
  console.log(`\n=== ${name}`)
  await run()
}
