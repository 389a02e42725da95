// `clawlink dashboard` as a user runs it, and the system's Chromium driven by playwright-core.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium } from 'playwright-core'
import { BIN } from './cli.js'

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
          await exited
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
