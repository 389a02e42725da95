// `clawlink dashboard` as a user runs it, and the system's Chromium driven by playwright-core.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium, type Page } from 'playwright-core'
import { type Agent, agentMesh, BIN, bounded, type NodeProcess, seesAll, startAgent } from './cli.js'

/** Loaded with --import: the dashboard fails if it ever loads libp2p (it is a control API client). */
const FORBID = fileURLToPath(new URL('./forbid-libp2p.mjs', import.meta.url))

/** The Debian package's browser (.ci/run installs it when missing). */
export const CHROMIUM = process.env.CLAWLINK_CHROMIUM ?? '/usr/bin/chromium'
/** Decided before collection, so a machine without the browser skips with this reason. */
export const NO_BROWSER = existsSync(CHROMIUM)
  ? undefined
  : `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CLAWLINK_CHROMIUM)`
if (NO_BROWSER != null) console.warn(`skipping the dashboard browser tests: ${NO_BROWSER}`)

export interface DashboardProcess {
  proc: ChildProcess
  /** the printed URL, with the token */
  url: string
  origin: string
  token: string
  stderr(): string
  stop(): Promise<void>
}

/** Starts `clawlink dashboard --port 0 ...` and resolves with the URL it prints. */
export function startDashboard(env: NodeJS.ProcessEnv, args: string[] = []): Promise<DashboardProcess> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', FORBID, BIN, 'dashboard', '--port', '0', ...args], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    const exited = new Promise<void>((r) => proc.on('close', () => r()))
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error(`the dashboard printed no URL in 20 s: ${err}`))
    }, 20_000)
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString()
    })
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /^(http:\/\/\S+)\n/m.exec(out)
      if (m == null) return
      clearTimeout(timer)
      const url = new URL(m[1]!)
      resolve({
        proc,
        url: m[1]!,
        origin: url.origin,
        token: url.searchParams.get('token') ?? '',
        stderr: () => err,
        async stop() {
          if (proc.exitCode == null && proc.signalCode == null) proc.kill('SIGTERM')
          // the command bounds its own close (5 s): past that, say so instead of a hook timeout
          await bounded(exited, 15_000, () => {
            proc.kill('SIGKILL')
            return `the dashboard did not exit 15 s after SIGTERM; stderr: ${err.slice(-4000)}`
          })
        },
      })
    })
    proc.on('close', (code) => {
      clearTimeout(timer)
      reject(new Error(`the dashboard exited with ${code}: ${err}`))
    })
  })
}

export function launchBrowser(): Promise<Browser> {
  // root in a container has no user namespace for Chromium's sandbox
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true })
}

/** Two real nodes (alice, bob) that see each other, alice's dashboard, and a page open on it. */
export interface DashboardWorld {
  alice: Agent
  bob: Agent
  dash: DashboardProcess
  browser: Browser
  page: Page
  /** removed by stop(); a test may add its own */
  dirs: string[]
  /** alice's node first, then bob's; stop() stops whatever is here then */
  procs: NodeProcess[]
  stop(): Promise<void>
}

/** Starts a DashboardWorld; `onPage` sees the page before it loads (to attach listeners). */
export async function openDashboardWorld(onPage?: (page: Page) => void): Promise<DashboardWorld> {
  const dirs: string[] = []
  const procs: NodeProcess[] = []
  const agent = agentMesh(dirs)
  const world: Partial<DashboardWorld> = {}
  const stop = async () => {
    await world.browser?.close()
    await world.dash?.stop()
    await Promise.all(procs.map((p) => p.stop()))
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  }
  try {
    const alice = agent('alice')
    const bob = agent('bob')
    await startAgent(procs, alice)
    await startAgent(procs, bob)
    await seesAll(alice.env, ['bob'])
    await seesAll(bob.env, ['alice'])
    world.dash = await startDashboard(alice.env)
    world.browser = await launchBrowser()
    const page = await world.browser.newPage()
    onPage?.(page)
    await page.goto(world.dash.url)
    await page.waitForSelector('body[data-ready="1"]')
    return { alice, bob, dash: world.dash, browser: world.browser, page, dirs, procs, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
