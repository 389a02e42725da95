// Drives the real `clawlink` command as a user would: separate processes, their own homes.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ControlClient } from '../../src/client/control-client.js'
import { encodeKeyFile, generateKey } from '../../src/home/mesh-key.js'
import { dataDirPaths } from '../../src/home/paths.js'

export const BIN = fileURLToPath(new URL('../../bin/clawlink.js', import.meta.url))

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs one CLI command to completion (killed after `timeout` ms). */
export function cli(
  args: string[],
  env: NodeJS.ProcessEnv,
  /** `bin`: the command that is clawlink (default: this Node running bin/clawlink.js), e.g. an installed one */
  opts: { timeout?: number; input?: string | Buffer; nodeArgs?: string[]; bin?: string[] } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [command, ...pre] = opts.bin ?? [process.execPath, ...(opts.nodeArgs ?? []), BIN]
    const child = spawn(command!, [...pre, ...args], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeout ?? 20_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.end(opts.input ?? '')
  })
}

/** Runs a command that must succeed with --json output, and parses it. */
export async function cliJson<T>(
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: { bin?: string[] } = {},
): Promise<T> {
  const r = await cli([...args, '--json'], env, opts)
  if (r.code !== 0) throw new Error(`clawlink ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return JSON.parse(r.stdout) as T
}

export interface NodeProcess {
  proc: ChildProcess
  peerId: string
  addrs: string[]
  events: Array<Record<string, unknown>>
  stderr: () => string
  /** Resolves with the exit code once the process ends. */
  exited: Promise<number | null>
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** Starts `clawlink node --json ...` and waits for its `started` event. */
export function spawnNode(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeout = 20_000,
  /**
   * a command to run it under, e.g. ['ip', 'netns', 'exec', NS]; the subcommand (node or relay); and
   * the command that is clawlink (default: this Node running bin/clawlink.js), e.g. an installed one
   */
  opts: { wrap?: string[]; command?: string; bin?: string[] } = {},
): Promise<NodeProcess> {
  return new Promise((resolve, reject) => {
    const clawlink = opts.bin ?? [process.execPath, BIN]
    const full = [...(opts.wrap ?? []), ...clawlink, opts.command ?? 'node', '--json', ...args]
    const proc = spawn(full[0]!, full.slice(1), {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const events: Array<Record<string, unknown>> = []
    let stderr = ''
    let buffered = ''
    const exited = new Promise<number | null>((r) => proc.on('close', (code) => r(code)))
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error(`node did not start in ${timeout} ms: ${stderr}`))
    }, timeout)
    proc.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    proc.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString()
      let nl = buffered.indexOf('\n')
      while (nl >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        nl = buffered.indexOf('\n')
        if (line === '') continue
        const event = JSON.parse(line) as Record<string, unknown>
        events.push(event)
        if (event.event === 'started') {
          clearTimeout(timer)
          resolve({
            proc,
            peerId: event.peerId as string,
            addrs: event.addrs as string[],
            events,
            stderr: () => stderr,
            exited,
            async stop(signal: NodeJS.Signals = 'SIGTERM') {
              if (proc.exitCode == null && proc.signalCode == null) proc.kill(signal)
              // the node bounds its own stop (20 s, daemon/stop-deadline.ts): past that, say what it did
              return bounded(exited, STOP_BACKSTOP_MS, () => {
                proc.kill('SIGKILL')
                const last = events.slice(-8).map((e) => JSON.stringify(e))
                return `the node did not exit ${STOP_BACKSTOP_MS} ms after ${signal}; its last events:\n${last.join('\n')}\nstderr: ${stderr.slice(-4000)}`
              })
            },
          })
        }
      }
    })
    exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`node exited with ${code} before starting: ${stderr}`))
    })
  })
}

/** A stopped process that has not exited by now is killed and the test fails, saying why (not a hook timeout). */
export const STOP_BACKSTOP_MS = 30_000

/** `done`, or after `ms` the error `onTimeout` describes (after it has run). */
export async function bounded<T>(done: Promise<T>, ms: number, onTimeout: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(onTimeout())), ms)
  })
  try {
    return await Promise.race([done, late])
  } finally {
    clearTimeout(timer)
  }
}

/** Polls `check` until it returns a value or `timeout` ms pass. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeout = 15_000,
  interval = 100,
): Promise<T> {
  const deadline = Date.now() + timeout
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const v = await check()
      if (v !== undefined) return v
    } catch (err) {
      last = err
    }
    await new Promise((r) => setTimeout(r, interval))
  }
  throw new Error(`condition not met in ${timeout} ms${last != null ? `: ${(last as Error).message}` : ''}`)
}

export interface Agent {
  name: string
  home: string
  env: NodeJS.ProcessEnv
  /** A control API client for this agent's node (its default data dir). */
  api(): ControlClient
}

/**
 * A private mesh for one test: agents made from it share a fresh mesh key and mDNS tag, each with its
 * own ClawLink home (pushed to `dirs`, for the test to remove).
 */
export function agentMesh(dirs: string[]): (name: string) => Agent {
  const key = encodeKeyFile(generateKey())
  const tag = `_cl-${randomBytes(4).toString('hex')}._udp.local`
  return (name) => {
    const home = mkdtempSync(join(tmpdir(), `clawlink-${name}-`))
    dirs.push(home)
    const env = { CLAWLINK_HOME: home, CLAWLINK_KEY: key, CLAWLINK_MDNS_TAG: tag, CLAWLINK_AGENT: name }
    return {
      name,
      home,
      env,
      api: () => new ControlClient(dataDirPaths(join(home, 'agents', name)).socket, name),
    }
  }
}

/** Starts an agent's node on loopback (tracked in `procs` for cleanup). */
export async function startAgent(
  procs: NodeProcess[],
  agent: Agent,
  extra: string[] = [],
): Promise<NodeProcess> {
  const p = await spawnNode(['--name', agent.name, '--listen', '/ip4/127.0.0.1/tcp/0', ...extra], agent.env)
  procs.push(p)
  return p
}

/** Waits until `env`'s node lists every one of `names` as online. */
export async function seesAll(env: NodeJS.ProcessEnv, names: string[]): Promise<void> {
  await eventually(async () => {
    const peers = await cliJson<Array<{ name: string }>>(['discover'], env)
    return names.every((n) => peers.some((p) => p.name === n)) ? true : undefined
  })
}
