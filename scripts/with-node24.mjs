// Node 24 for tests and CI, without a second `node` devDependency (two would both claim
// node_modules/.bin/node): installs the `node@24` npm package, the same way `node@22` is installed,
// into node_modules/.cache/clawlink-node24 on first use.
//
//   node scripts/with-node24.mjs             prints the Node 24 binary's path
//   node scripts/with-node24.mjs CMD ARGS..  runs CMD (`node` is Node 24) with Node 24 first on PATH
//                                            and CLAWLINK_EXPECT_NODE_MAJOR=24 (a test checks the
//                                            nodes it spawns really run on it)
//
// Run vitest as `node node_modules/vitest/vitest.mjs`: `npx vitest` would put node_modules/.bin (and
// its Node 22) back in front of PATH.
//
// Runs on any Node >= 18, so it works from the system node too. Exits 1 with a one-line reason when
// Node 24 cannot be installed (no registry).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const MAJOR = 24
const INSTALL_TIMEOUT_MS = 300_000
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const prefix = join(root, 'node_modules', '.cache', `clawlink-node${MAJOR}`)
const binDir = join(prefix, 'node_modules', 'node', 'bin')
const bin = join(binDir, 'node')

function versionOf(path) {
  const r = spawnSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : undefined
}

function ensure() {
  if (versionOf(bin)?.startsWith(`${MAJOR}.`)) return
  mkdirSync(prefix, { recursive: true })
  // its own package.json: npm installs here, not in the project, and may run node's preinstall
  // (it fetches the platform's binary package from the registry)
  writeFileSync(
    join(prefix, 'package.json'),
    `${JSON.stringify({ private: true, allowScripts: { node: true } }, null, 2)}\n`,
  )
  const r = spawnSync(
    'npm',
    [
      'install',
      `node@${MAJOR}`,
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
    ],
    { encoding: 'utf8', timeout: INSTALL_TIMEOUT_MS, cwd: prefix },
  )
  const version = existsSync(bin) ? versionOf(bin) : undefined
  if (!version?.startsWith(`${MAJOR}.`)) {
    const why = r.error
      ? r.error.message
      : (r.stderr || r.stdout).trim().split('\n').pop() || `exit ${r.status}`
    process.stderr.write(`with-node24: cannot install node@${MAJOR} from the npm registry: ${why}\n`)
    process.exit(1)
  }
}

ensure()
const [command, ...args] = process.argv.slice(2)
if (command === undefined) {
  process.stdout.write(`${bin}\n`)
} else {
  const env = {
    ...process.env,
    PATH: `${binDir}:${process.env.PATH ?? ''}`,
    CLAWLINK_EXPECT_NODE_MAJOR: String(MAJOR),
  }
  const r = spawnSync(command === 'node' ? bin : command, args, { stdio: 'inherit', env })
  if (r.error) {
    process.stderr.write(`with-node24: ${command}: ${r.error.message}\n`)
    process.exit(1)
  }
  process.exit(r.status ?? 1)
}
