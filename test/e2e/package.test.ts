// The package as a user gets it: `npm pack`, then `npm install -g ./clawlink-X.tgz` into an empty
// prefix, then the installed `clawlink` on Node 22 and on Node 24: --version, two nodes, discover, status,
// and the dashboard serving its bundled page.
import { execFile, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { agentMesh, cli, cliJson, eventually, type NodeProcess, spawnNode } from '../helpers/cli.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version
/** Node 22 is the `node` devDependency; Node 24 comes from scripts/with-node24.mjs (the same npm package) */
const NODE22 = join(ROOT, 'node_modules', 'node', 'bin', 'node')
const INSTALL_TIMEOUT = 240_000

/** Runs a command to completion as a user's shell would: no npm_* variables from `npm test`. */
function run(
  command: string,
  args: string[],
  opts: { cwd?: string; timeout: number; env?: NodeJS.ProcessEnv },
): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)))
  const started = Date.now()
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: opts.cwd, timeout: opts.timeout, env: { ...env, ...opts.env }, maxBuffer: 32 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
        resolve({ code, stdout, stderr: stderr || (err?.message ?? ''), ms: Date.now() - started })
      },
    )
  })
}

// found before the tests are collected, so a test that cannot run is skipped by skipIf, saying why
// (Node 24 is fetched once, from the registry; CI requires it)
const NODE24 = await node24()
if (typeof NODE24 === 'object') console.log(`package test on Node 24 skipped: ${NODE24.skip}`)
const OLD_NODE = oldNode()
if (OLD_NODE === undefined) console.log('older-Node test skipped: no Node older than 22.13 on this machine')

const dirs: string[] = []
const procs: NodeProcess[] = []
let prefix = ''
let packed: { filename: string; size: number; unpackedSize: number; files: Array<{ path: string }> }

beforeAll(async () => {
  // `npm test` built dist/ (pretest); packing must not rebuild it under the other e2e tests' feet
  expect(existsSync(join(ROOT, 'dist', 'cli', 'main.js')), 'run npm run build first').toBe(true)
  const out = mkdtempSync(join(tmpdir(), 'clawlink-pack-'))
  dirs.push(out)
  const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', out], {
    cwd: ROOT,
    timeout: 60_000,
  })
  expect(pack.code, pack.stderr).toBe(0)
  packed = (JSON.parse(pack.stdout) as (typeof packed)[])[0]!
  prefix = mkdtempSync(join(tmpdir(), 'clawlink-prefix-'))
  dirs.push(prefix)
  const tarball = join(out, packed.filename)
  const install = await run(
    'npm',
    ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball],
    { cwd: out, timeout: INSTALL_TIMEOUT },
  )
  expect(install.code, install.stderr).toBe(0)
  console.log(
    `package: ${packed.filename} ${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ` +
      `${packed.files.length} files; npm install -g took ${install.ms} ms`,
  )
}, INSTALL_TIMEOUT + 90_000)

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()))
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('the npm package', () => {
  it('holds the built CLI, docs, skill and licence, and no sources, tests, bench, CI or source maps', () => {
    const paths = packed.files.map((f) => f.path)
    for (const f of [
      'bin/clawlink.js',
      'dist/cli/main.js',
      'skill/SKILL.md',
      'LICENSE',
      'README.md',
      'dist/dashboard/web/app.js',
      'dist/dashboard/web/index.html',
      'dist/dashboard/web/app.css',
    ]) {
      expect(paths).toContain(f)
    }
    const unwanted = (p: string) => /^(src|test|bench|scripts|\.ci)\//.test(p) || /\.(map|ts)$/.test(p)
    expect(paths.filter(unwanted)).toEqual([])
  })

  it('installs without TypeScript or any devDependency', () => {
    const installed = join(prefix, 'lib', 'node_modules')
    expect(existsSync(join(installed, 'clawlink', 'dist', 'cli', 'main.js'))).toBe(true)
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>
    }
    // type packages may come along with a runtime dependency (@libp2p/mdns's @types/multicast-dns)
    for (const dev of Object.keys(pkg.devDependencies).filter((d) => !d.startsWith('@types/'))) {
      expect(existsSync(join(installed, 'clawlink', 'node_modules', dev)), dev).toBe(false)
      expect(existsSync(join(installed, dev)), dev).toBe(false)
    }
  })

  for (const [major, found] of [
    [22, NODE22],
    [24, NODE24],
  ] as const) {
    it.skipIf(typeof found === 'object')(
      `the installed clawlink runs on Node ${major}: --version, two nodes, discover, status, dashboard`,
      async () => {
        const node = found as string
        expect(spawnSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout).toMatch(
          new RegExp(`^${major}\\.`),
        )
        // as a user's shell has it: this Node first on PATH, the installed clawlink found by its shebang
        const PATH = `${dirname(node)}:${join(prefix, 'bin')}:/usr/local/bin:/usr/bin:/bin`
        const bin = [join(prefix, 'bin', 'clawlink')]
        const version = await cli(['--version'], { PATH }, { bin })
        expect(version).toMatchObject({ code: 0, stdout: `${VERSION}\n` })

        const mesh = agentMesh(dirs)
        const [alice, bob] = [mesh(`alice${major}`), mesh(`bob${major}`)]
        for (const a of [alice, bob]) {
          const args = ['--name', a.name, '--listen', '/ip4/127.0.0.1/tcp/0']
          const p = await spawnNode(args, { ...a.env, PATH }, 30_000, { bin })
          procs.push(p)
          // the daemon (after its re-exec with V8 flags) still runs on this Node
          if (existsSync(`/proc/${p.proc.pid}/exe`)) {
            expect(realpathSync(readlinkSync(`/proc/${p.proc.pid}/exe`))).toBe(realpathSync(node))
          }
        }
        await eventually(async () => {
          const peers = await cliJson<Array<{ name: string }>>(['discover'], { ...alice.env, PATH }, { bin })
          return peers.some((p) => p.name === bob.name) ? true : undefined
        }, 30_000)
        const status = await cliJson<{ card: { name: string; version: string }; peers: { online: number } }>(
          ['status'],
          { ...alice.env, PATH },
          { bin },
        )
        expect(status.card).toMatchObject({ name: alice.name, version: VERSION })
        expect(status.peers.online).toBeGreaterThanOrEqual(1)
        // the dashboard's page and bundled script come with the package (nothing is fetched elsewhere)
        await servesDashboard(bin[0]!, { ...alice.env, PATH })
      },
      400_000,
    ) // fetching Node 24 the first time, then two node starts
  }

  it.skipIf(OLD_NODE === undefined)('refuses an older Node with a one-line reason', () => {
    const old = OLD_NODE!
    // --version: on an older Node, before this check, it printed the version and exited 0
    const home = mkdtempSync(join(tmpdir(), 'clawlink-old-node-'))
    dirs.push(home)
    const r = spawnSync(old, [join(prefix, 'bin', 'clawlink'), '--version'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, CLAWLINK_HOME: home },
    })
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/^clawlink: needs Node\.js 22\.13 or newer; this is v\d+\.\d+\.\d+\n$/)
  })
})

/** Starts the installed `clawlink dashboard`, loads its page and script with the token, stops it. */
async function servesDashboard(bin: string, env: NodeJS.ProcessEnv): Promise<void> {
  const proc = spawn(bin, ['dashboard', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  try {
    const url = await new Promise<URL>((resolve, reject) => {
      let out = ''
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        const m = /^(http:\/\/\S+)\n/m.exec(out)
        if (m != null) resolve(new URL(m[1]!))
      })
      proc.on('close', (code) => reject(new Error(`clawlink dashboard exited with ${code}`)))
    })
    const headers = { 'x-clawlink-token': url.searchParams.get('token') ?? '' }
    const page = await fetch(`${url.origin}/`, { headers })
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('/assets/app.js')
    const script = await fetch(`${url.origin}/assets/app.js`, { headers })
    expect(script.status).toBe(200)
    expect((await script.text()).length).toBeGreaterThan(10_000)
  } finally {
    proc.kill('SIGTERM')
  }
}

/** Node 24's binary, or why the test cannot have it (outside CI only: CI must run on it). */
/** A Node older than 22.13 on this machine (the system's), if any. */
function oldNode(): string | undefined {
  return ['/usr/bin/node', '/usr/local/bin/node'].find((n) => {
    const v = spawnSync(n, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout?.trim()
    return v != null && /^(1\d|2[01])\.|^22\.([0-9]|1[0-2])\./.test(v)
  })
}

async function node24(): Promise<string | { skip: string }> {
  const r = await run(process.execPath, [join(ROOT, 'scripts', 'with-node24.mjs')], { timeout: 330_000 })
  if (r.code === 0) return r.stdout.trim()
  const why = r.stderr.trim()
  if (process.env.CLAWLINK_REQUIRE_NODE24) throw new Error(why)
  return { skip: `Node 24 unavailable: ${why}` }
}
