// `npm run e2e:openclaw`: ClawLink checked with the real OpenClaw, as a user installs both. Not part of
// `npm test`: it installs Node 24 and OpenClaw from the npm registry into a cache folder (reused on the
// next run) and takes a minute or two. Everything listens on loopback, every wait is bounded, and
// everything it starts or writes (but the cache) is removed at the end, whether it passed or not.
//
// Steps: npm pack -> install the tarball into an empty prefix (Node 24) -> install skill/ into an
// OpenClaw home in a temp dir -> `openclaw skills info clawlink` says Ready -> a gateway on loopback
// with hooks on -> two nodes with `clawlink up --wake-url` -> alice delegates to bob -> the gateway
// accepted bob's wake-up with 200 (seen by a recording pass-through in front of the gateway) -> bob
// answers -> alice's wake-up (straight to the gateway) is logged as wake_sent.
//
// Environment: E2E_OPENCLAW_VERSION (default below), E2E_NODE24 (default 24), E2E_CACHE (default
// ~/.cache/clawlink-e2e), E2E_KEEP=1 keeps the temp dir for a look afterwards.
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { homedir, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const OPENCLAW_VERSION = process.env.E2E_OPENCLAW_VERSION ?? '2026.9.6'
const NODE24 = process.env.E2E_NODE24 ?? '24'
const CACHE = process.env.E2E_CACHE ?? join(homedir(), '.cache', 'clawlink-e2e')
/** The agent the wake-ups are for: OpenClaw's default agent. */
const WAKE_AGENT = 'main'

const started = Date.now()
const tmp = mkdtempSync(join(tmpdir(), 'clawlink-e2e-openclaw-'))
const cleanups = []

function say(text) {
  process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${text}\n`)
}

function fail(text) {
  throw new Error(text)
}

/** Runs a command to completion (bounded), returning stdout; a non-zero exit throws with its output. */
function run(cmd, args, opts = {}) {
  try {
    return execFileSync(cmd, args, {
      encoding: 'utf8',
      timeout: opts.timeout ?? 120_000,
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 16 * 1024 * 1024,
      ...opts,
    })
  } catch (err) {
    const out = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n')
    fail(`${cmd} ${args.join(' ')} failed (${err.status ?? err.signal ?? err.code}):\n${out}`)
  }
}

/** Polls `check` until it returns a value, at most `timeout` ms. */
async function until(what, check, timeout = 30_000) {
  const deadline = Date.now() + timeout
  let last
  while (Date.now() < deadline) {
    try {
      const v = await check()
      if (v !== undefined && v !== false) return v
    } catch (err) {
      last = err
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  fail(`${what}: not within ${timeout / 1000} s${last != null ? ` (${last.message})` : ''}`)
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

/** Node 24 and OpenClaw in the cache, installed once (OpenClaw's installer refuses Node < 24.16). */
function installTools() {
  const nodeDir = join(CACHE, `node-${NODE24}`)
  const node = join(nodeDir, 'node_modules', '.bin', 'node')
  if (!existsSync(node)) {
    mkdirSync(nodeDir, { recursive: true })
    writeFileSync(join(nodeDir, 'package.json'), '{"private":true}\n')
    run('npm', ['install', '--no-audit', '--no-fund', `node@${NODE24}`], { cwd: nodeDir, timeout: 600_000 })
  }
  const path24 = `${dirname(node)}:${process.env.PATH}`
  const ocDir = join(CACHE, `openclaw-${OPENCLAW_VERSION}`)
  const openclaw = join(ocDir, 'node_modules', '.bin', 'openclaw')
  if (!existsSync(openclaw)) {
    mkdirSync(ocDir, { recursive: true })
    writeFileSync(join(ocDir, 'package.json'), '{"private":true}\n')
    run('npm', ['install', '--no-audit', '--no-fund', `openclaw@${OPENCLAW_VERSION}`], {
      cwd: ocDir,
      timeout: 900_000,
      env: { ...process.env, PATH: path24 },
    })
  }
  return { node, path24, openclaw }
}

/**
 * A pass-through in front of the gateway's hooks that records each request body and the gateway's
 * status and answer: the proof that the gateway accepted a wake-up, and what it was sent.
 */
function recordingProxy(target) {
  const seen = []
  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8')
      try {
        const r = await fetch(new URL(req.url, target), {
          method: req.method,
          headers: { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' },
          body,
          signal: AbortSignal.timeout(20_000),
        })
        const answer = await r.text()
        seen.push({ path: req.url, body: JSON.parse(body), status: r.status, answer })
        res.writeHead(r.status, { 'content-type': 'application/json' }).end(answer)
      } catch (err) {
        seen.push({ path: req.url, body, status: 0, answer: err.message })
        res.writeHead(502).end()
      }
    })
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      cleanups.push(
        () =>
          new Promise((r) => {
            server.close(() => r())
            server.closeAllConnections()
          }),
      )
      resolve({ url: `http://127.0.0.1:${server.address().port}`, seen })
    })
  })
}

/** Starts the gateway in its own process group; cleanup stops the whole group. */
async function startGateway(openclaw, env, port) {
  const log = join(tmp, 'gateway.out')
  const out = openSync(log, 'a')
  const gw = spawn(openclaw, ['gateway', 'run', '--port', String(port), '--bind', 'loopback'], {
    env,
    detached: true,
    stdio: ['ignore', out, out],
  })
  cleanups.push(async () => {
    const group = (sig) => {
      try {
        process.kill(-gw.pid, sig)
      } catch {}
    }
    group('SIGTERM')
    // the gateway drains for minutes by default: give it 5 s, then end the group
    const end = Date.now() + 5_000
    while (gw.exitCode == null && gw.signalCode == null && Date.now() < end)
      await new Promise((r) => setTimeout(r, 100))
    group('SIGKILL')
  })
  const base = `http://127.0.0.1:${port}`
  // hooks on, token checked: an unauthenticated wake-up is refused with 401 (404 would mean hooks off)
  await until(
    'the gateway answers on its hooks',
    async () => {
      if (gw.exitCode != null)
        fail(`the gateway exited (${gw.exitCode}): ${readFileSync(log, 'utf8').slice(-2000)}`)
      const r = await fetch(`${base}/hooks/wake`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"text":"unauthenticated","mode":"now"}',
        signal: AbortSignal.timeout(2_000),
      })
      return r.status === 401
    },
    180_000,
  )
  return base
}

async function main() {
  say(`temp dir ${tmp}; cache ${CACHE}`)
  const tools = installTools()
  const nodeVersion = run(tools.node, ['--version']).trim()
  const ocVersion = run(tools.openclaw, ['--version'], { env: { ...process.env, PATH: tools.path24 } }).trim()
  say(`Node ${nodeVersion}, ${ocVersion.split('\n').at(-1)}`)

  // the package as a user gets it: packed, installed into an empty prefix, run on Node 24
  const packed = JSON.parse(
    run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: ROOT, timeout: 300_000 }),
  )
  const tarball = join(tmp, packed[0].filename)
  const prefix = join(tmp, 'prefix')
  run('npm', ['install', '-g', '--no-audit', '--no-fund', '--prefix', prefix, tarball], {
    timeout: 600_000,
    env: { ...process.env, PATH: tools.path24 },
  })
  const PATH = `${join(prefix, 'bin')}:${tools.path24}`
  const clawlinkVersion = run('clawlink', ['--version'], { env: { ...process.env, PATH } }).trim()
  say(`installed ${packed[0].filename} into ${prefix}: clawlink ${clawlinkVersion}`)

  // an OpenClaw home of its own, with the gateway's hooks enabled (they are off by default)
  const home = join(tmp, 'home')
  mkdirSync(join(home, '.openclaw'), { recursive: true })
  const port = await freePort()
  const hookToken = randomBytes(24).toString('hex')
  const config = {
    gateway: {
      mode: 'local',
      port,
      bind: 'loopback',
      auth: { mode: 'token', token: randomBytes(24).toString('hex') },
    },
    hooks: { enabled: true, token: hookToken },
    logging: { file: join(tmp, 'openclaw.log') },
  }
  writeFileSync(join(home, '.openclaw', 'openclaw.json'), `${JSON.stringify(config, null, 2)}\n`)
  const ocEnv = { PATH, HOME: home, TMPDIR: tmp, CLAWLINK_AGENT: 'alice', NO_COLOR: '1' }
  const skillDir = existsSync(join(prefix, 'lib', 'node_modules', 'clawlink', 'skill'))
    ? join(prefix, 'lib', 'node_modules', 'clawlink', 'skill')
    : join(ROOT, 'skill')
  run(tools.openclaw, ['skills', 'install', skillDir, '--global', '--as', 'clawlink'], { env: ocEnv })
  const info = run(tools.openclaw, ['skills', 'info', 'clawlink'], { env: ocEnv })
  const head = info.split('\n').find((l) => l.includes('clawlink')) ?? ''
  if (!/Ready/.test(head)) fail(`openclaw skills info clawlink does not say Ready:\n${info}`)
  say(`openclaw skills info clawlink: ${head.trim()}`)

  const gateway = await startGateway(tools.openclaw, ocEnv, port)
  say(`gateway on ${gateway}, hooks enabled with a token`)
  const proxy = await recordingProxy(gateway)

  // two nodes, each started with `clawlink up`, the wake token from the environment
  const clEnv = {
    PATH,
    HOME: home,
    CLAWLINK_HOME: join(tmp, 'clawlink'),
    CLAWLINK_WAKE_TOKEN: hookToken,
    CLAWLINK_MDNS_TAG: `_cl-${randomBytes(4).toString('hex')}._udp.local`,
  }
  const cl = (args, timeout) => run('clawlink', args, { env: clEnv, timeout })
  const clJson = (args, timeout) => JSON.parse(cl([...args, '--json'], timeout))
  const helpUp = cl(['up', '--help'])
  // --wake-agent (sent as agentId) is used once this build has it
  const wakeAgent = /--wake-agent\b/.test(helpUp) ? ['--wake-agent', WAKE_AGENT] : []
  const common = ['--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0', '--log-json', ...wakeAgent]
  cleanups.push(() => {
    for (const n of ['bob', 'alice']) {
      try {
        run('clawlink', ['down', '--as', n, '--timeout', '20s'], { env: clEnv, timeout: 30_000 })
      } catch {}
    }
  })
  const alice = clJson(['up', '--name', 'alice', ...common, `--wake-url=${gateway}/hooks/wake`], 60_000)
  const bob = clJson(
    ['up', '--name', 'bob', ...common, `--wake-url=${proxy.url}/hooks/wake`, '--peer', alice.addrs[0]],
    60_000,
  )
  say(
    `clawlink up: alice (pid ${alice.pid}) and bob (pid ${bob.pid}) answer${wakeAgent.length > 0 ? `, --wake-agent ${WAKE_AGENT}` : ''}`,
  )
  await until('alice sees bob', () => clJson(['discover', '--as', 'alice']).some((p) => p.name === 'bob'))

  const task = clJson(['delegate', '--as', 'alice', '--to', 'bob', '--task', 'e2e: say hello'])
  say(`alice delegated task ${task.id} to bob`)
  const wake = await until("the gateway answers bob's wake-up", () =>
    proxy.seen.find((s) => s.path === '/hooks/wake'),
  )
  if (wake.status !== 200) fail(`the gateway refused the wake-up: ${wake.status} ${wake.answer}`)
  if (wakeAgent.length > 0 && wake.body.agentId !== WAKE_AGENT)
    fail(`the wake-up had agentId ${wake.body.agentId}`)
  say(`gateway accepted bob's wake-up: ${wake.status} ${wake.answer}`)
  say(`  it was sent ${JSON.stringify(wake.body)}`)

  const events = clJson(['poll', '--as', 'bob'])
  if (!events.some((e) => e.type === 'task' && e.id === task.id))
    fail(`bob's poll lacks the task: ${JSON.stringify(events)}`)
  cl(['respond', '--as', 'bob', '--msg-id', task.id, '--status', 'completed', '--result', 'hello'])
  const sent = await until('alice logs wake_sent', () =>
    cl(['logs', '--as', 'alice', '-n', '200'])
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .find((e) => e.event === 'wake_sent'),
  )
  say(`bob answered; alice's wake-up went straight to the gateway: wake_sent ${JSON.stringify(sent)}`)
  const down = clJson(['down', '--as', 'bob'])
  if (!down.stopped) fail(`clawlink down bob: ${JSON.stringify(down)}`)
  say('clawlink down: bob stopped')
  say('PASS')
}

let code = 0
try {
  await main()
} catch (err) {
  say(`FAIL: ${err.message}`)
  code = 1
} finally {
  for (const c of cleanups.reverse()) {
    try {
      await c()
    } catch {}
  }
  if (process.env.E2E_KEEP === '1') say(`kept ${tmp}`)
  else rmSync(tmp, { recursive: true, force: true })
}
process.exit(code)
