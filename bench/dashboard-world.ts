// A small mesh with a dashboard and a browser on it, for the dashboard benchmark and its screenshots.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { type Browser, chromium } from 'playwright-core'
import { type BenchNode, type BenchWorld, BIN, spawnNode, world } from './lib.ts'

export const CHROMIUM = process.env.CLAWLINK_CHROMIUM ?? '/usr/bin/chromium'
const LISTEN = ['--listen', '/ip4/127.0.0.1/tcp/0']

export interface DashboardWorld {
  w: BenchWorld
  nodes: Record<string, BenchNode>
  /** env with CLAWLINK_AGENT set to `name` */
  env(name: string): NodeJS.ProcessEnv
  /** runs a CLI command as `name`; throws if it fails; returns its stdout */
  cli(name: string, args: string[], input?: string): string
  url: string
  browser: Browser
  close(): Promise<void>
}

function startDashboard(env: NodeJS.ProcessEnv): Promise<{ proc: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, 'dashboard', '--port', '0'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error(`no dashboard URL in 20 s: ${err}`))
    }, 20_000)
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString()
    })
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /^(http:\/\/\S+)\n/m.exec(out)
      if (m == null) return
      clearTimeout(timer)
      resolve({ proc, url: m[1]! })
    })
  })
}

/** Starts `names` (the first one is the dashboard's node), waits until it sees the others. */
export async function dashboardWorld(names: string[], v1Api = false): Promise<DashboardWorld> {
  const w = world()
  const nodes: Record<string, BenchNode> = {}
  const env = (name: string) => ({ ...w.env, CLAWLINK_AGENT: name })
  try {
    for (const name of names) {
      const extra = v1Api ? ['--v1-api', '127.0.0.1:0'] : []
      nodes[name] = await spawnNode(['--name', name, ...LISTEN, ...extra], env(name))
    }
    const first = nodes[names[0]!]!
    for (const other of names.slice(1))
      await first.waitEvent((e) => e.event === 'peer_online' && e.name === other)
    const dash = await startDashboard(env(names[0]!))
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox'],
      headless: true,
    })
    return {
      w,
      nodes,
      env,
      cli(name, args, input) {
        const r = spawnSync(process.execPath, [BIN, ...args], { env: env(name), input, encoding: 'utf8' })
        if (r.status !== 0) throw new Error(`clawlink ${args.join(' ')} failed: ${r.stderr}`)
        return r.stdout
      },
      url: dash.url,
      browser,
      async close() {
        await browser.close()
        dash.proc.kill('SIGTERM')
        await Promise.all(Object.values(nodes).map((n) => n.stop()))
        w.cleanup()
      },
    }
  } catch (err) {
    await Promise.all(Object.values(nodes).map((n) => n.stop()))
    w.cleanup()
    throw err
  }
}
