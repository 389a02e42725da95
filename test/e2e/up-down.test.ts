// `clawlink up`, `down` and `logs` with real processes: a detached node that outlives the command that
// started it, found again by name, stopped cleanly, its log read and followed.
import { type ChildProcess, spawn } from 'node:child_process'
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { StatusJson } from '../../src/api/types.js'
import { processGone } from '../../src/cli/detach/local-node.js'
import { dataDirPaths } from '../../src/home/paths.js'
import { type Agent, agentMesh, BIN, cli, cliJson, eventually } from '../helpers/cli.js'

const FORBID = fileURLToPath(new URL('../helpers/forbid-libp2p.mjs', import.meta.url))
const NODE_ARGS = ['--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0']

type UpJson = StatusJson & { alreadyRunning: boolean; logFile: string }

/** A zombie nobody reaps yet (its parent, `up`, has exited) counts as gone. */
function alive(pid: number): boolean {
  return !processGone(pid)
}

/** `clawlink logs -f` as a running process whose output the test reads. */
function followLogs(args: string[], env: NodeJS.ProcessEnv): { proc: ChildProcess; out: () => string } {
  const proc = spawn(process.execPath, [BIN, 'logs', '-f', ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString()
  })
  proc.stderr!.on('data', (d: Buffer) => {
    out += d.toString()
  })
  return { proc, out: () => out }
}

describe('clawlink up / down / logs', () => {
  const dirs: string[] = []
  const mesh = agentMesh(dirs)
  const pids: number[] = []
  const followers: ChildProcess[] = []
  afterEach(() => {
    for (const p of followers.splice(0)) p.kill('SIGKILL')
    for (const pid of pids.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL')
  })
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  async function up(agent: Agent, extra: string[] = []): Promise<UpJson> {
    const r = await cli(['up', '--name', agent.name, ...NODE_ARGS, ...extra, '--json'], agent.env, {
      nodeArgs: ['--import', FORBID],
      timeout: 40_000,
    })
    expect(r.code, r.stderr).toBe(0)
    const s = JSON.parse(r.stdout) as UpJson
    pids.push(s.pid)
    return s
  }

  it('starts a node detached, is a no-op while it runs, and down stops it and waits until it is gone', async () => {
    const a = mesh('upa')
    const first = await up(a)
    expect(first.alreadyRunning).toBe(false)
    expect(first.card.name).toBe('upa')
    expect(first.logFile).toBe(join(a.home, 'agents', 'upa', 'node.log'))
    expect(existsSync(first.logFile)).toBe(true)
    // `up` has exited; the node runs on and every command finds it by name
    const s = await cliJson<StatusJson>(['status', '--as', 'upa'], a.env)
    expect(s.pid).toBe(first.pid)

    const again = await cli(['up', '--name', 'upa', ...NODE_ARGS], a.env)
    expect(again.code).toBe(0)
    expect(again.stdout).toContain(`upa is already running (pid ${first.pid})`)
    const againJson = await up(a)
    expect(againJson).toMatchObject({ alreadyRunning: true, pid: first.pid })

    const socket = dataDirPaths(join(a.home, 'agents', 'upa')).socket
    expect(existsSync(socket)).toBe(true)
    const down = await cli(['down', '--as', 'upa', '--json'], a.env, { nodeArgs: ['--import', FORBID] })
    expect(down.code, down.stderr).toBe(0)
    expect(JSON.parse(down.stdout)).toMatchObject({
      name: 'upa',
      pid: first.pid,
      wasRunning: true,
      stopped: true,
    })
    expect(alive(first.pid)).toBe(false)
    expect(existsSync(socket)).toBe(false)
    expect(readFileSync(first.logFile, 'utf8')).toMatch(/SIGTERM: leaving the mesh\n.*stopped\n$/)

    const downAgain = await cli(['down', '--as', 'upa'], a.env)
    expect(downAgain.code).toBe(0)
    expect(downAgain.stdout).toContain('no node is running with data dir')
    const status = await cli(['status', '--as', 'upa'], a.env)
    expect(status.code).toBe(1)
  })

  it('fails with the reason from the log and a non-zero exit when the node cannot start', async () => {
    const b = mesh('upb')
    // only the node (libp2p) can check a PeerId: the reason must come from its log
    const bad = await cli(['up', '--name', 'upb', ...NODE_ARGS, '--allow', 'not-a-peer-id'], b.env, {
      nodeArgs: ['--import', FORBID],
    })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(
      /^clawlink: the node upb did not start \(it exited with 2\): --allow: "not-a-peer-id" is not a PeerId; log: /,
    )
    expect(bad.stdout).toBe('')
    // a mesh key file that is not there
    const noKey = await cli(
      ['up', '--name', 'upb', ...NODE_ARGS, '--key-file', join(b.home, 'missing.key')],
      b.env,
    )
    expect(noKey.code).not.toBe(0)
    expect(noKey.stderr).toContain('missing.key')
    // `up`'s own bad values are usage errors before anything starts
    const usage = await cli(['up', '--name', 'upb', '--timeout', 'soon'], b.env)
    expect(usage.code).toBe(2)
    expect(usage.stderr).toContain('--timeout expects a duration')
  })

  it('bounds its wait: a too-short --timeout exits 1 and says the node may still be starting', async () => {
    const c = mesh('upc')
    const r = await cli(['up', '--name', 'upc', ...NODE_ARGS, '--timeout', '1ms'], c.env)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/the node upc \(pid (\d+)\) did not answer within 1ms; it may still be starting/)
    pids.push(Number(/pid (\d+)/.exec(r.stderr)![1]))
    // it was left starting; once it answers, `up` is a no-op and `down` stops it
    const s = await eventually(async () => {
      const j = await up(c)
      return j.alreadyRunning ? j : undefined
    })
    expect(s.pid).toBe(pids[0])
    expect((await cli(['down'], c.env)).code).toBe(0)
  })

  it('prints the last lines with -n, and -f sees a line written later', async () => {
    const d = mesh('upd')
    const s = await up(d)
    const file = readFileSync(s.logFile, 'utf8').split('\n').slice(0, -1)
    const two = await cli(['logs', '--as', 'upd', '-n', '2'], d.env, { nodeArgs: ['--import', FORBID] })
    expect(two.code).toBe(0)
    expect(two.stdout).toBe(`${file.slice(-2).join('\n')}\n`)
    const none = await cli(['logs', '-n', '0'], d.env)
    expect(none.stdout).toBe('')

    const f = followLogs(['-n', '1'], d.env)
    followers.push(f.proc)
    await eventually(async () => (f.out() === `${file.at(-1)}\n` ? true : undefined))
    // stopping writes new lines: the follower prints them
    expect((await cli(['down', '--as', 'upd'], d.env)).code).toBe(0)
    await eventually(async () => (/leaving the mesh\n.*stopped\n$/.test(f.out()) ? true : undefined))
    // a dead node's log is still there to read
    expect((await cli(['logs', '--as', 'upd', '-n', '1'], d.env)).stdout).toMatch(/stopped\n$/)
  })

  it('-f follows a log that is truncated in place or replaced (rotation)', async () => {
    const e = mesh('upe')
    const dir = join(e.home, 'agents', 'upe')
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const log = join(dir, 'node.log')
    writeFileSync(log, 'one\ntwo\n')
    const f = followLogs([], e.env)
    followers.push(f.proc)
    await eventually(async () => (f.out() === 'one\ntwo\n' ? true : undefined))
    appendFileSync(log, 'three\n')
    await eventually(async () => (f.out().endsWith('three\n') ? true : undefined))
    truncateSync(log, 0)
    appendFileSync(log, 'four\n')
    await eventually(async () => (f.out().endsWith('three\nfour\n') ? true : undefined))
    renameSync(log, `${log}.1`)
    writeFileSync(log, 'five\n')
    await eventually(async () => (f.out().endsWith('four\nfive\n') ? true : undefined))
    expect(f.out()).toBe('one\ntwo\nthree\nfour\nfive\n')
  })

  it('starts again after its node was killed with SIGKILL', async () => {
    const g = mesh('upg')
    const first = await up(g)
    process.kill(first.pid, 'SIGKILL')
    await eventually(async () => (alive(first.pid) ? undefined : true))
    const second = await up(g)
    expect(second.alreadyRunning).toBe(false)
    expect(second.pid).not.toBe(first.pid)
    expect(second.card.id).toBe(first.card.id)
    expect((await cli(['down', '--as', 'upg'], g.env)).code).toBe(0)
  })
})
