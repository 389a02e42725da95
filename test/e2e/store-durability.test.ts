// The store under real `clawlink node` processes: its data dir removed or its store.db replaced while it
// runs (no ack may follow), the disk holding it full (a clear error, the node stays up), and a store
// missing, empty or damaged at start while identity.key exists (refused, unless --reset-store).
import { execFileSync } from 'node:child_process'
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { PeerJson, TaskJson } from '../../src/api/types.js'
import {
  type Agent,
  agentMesh,
  cli,
  cliJson,
  eventually,
  type NodeProcess,
  spawnNode,
  startAgent,
} from '../helpers/cli.js'

const require = createRequire(import.meta.url)

describe('the store under a running node, end to end', () => {
  const homes: string[] = []
  const procs: NodeProcess[] = []
  const mounts: string[] = []
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const m of mounts.splice(0)) {
      try {
        execFileSync('umount', [m])
      } catch {}
      rmSync(m, { recursive: true, force: true })
    }
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true })
  })
  const mesh = () => agentMesh(homes)
  const start = (agent: Agent, extra: string[] = []) => startAgent(procs, agent, extra)
  const dataDir = (agent: Agent) => join(agent.home, 'agents', agent.name)

  async function sees(env: NodeJS.ProcessEnv, name: string): Promise<PeerJson> {
    return eventually(async () =>
      (await cliJson<PeerJson[]>(['discover'], env)).find((p) => p.name === name && p.status === 'online'),
    )
  }

  async function delegate(env: NodeJS.ProcessEnv, to: string, task: string, context?: string) {
    const args = ['delegate', '--to', to, '--task', task]
    if (context != null) args.push('--context', context)
    return cliJson<TaskJson>(args, env)
  }

  const stateOf = async (env: NodeJS.ProcessEnv, id: string) =>
    (await cliJson<TaskJson[]>(['tasks', '--id', id], env))[0]!.state

  it('the receiver whose data dir is removed acks nothing, exits non-zero, and gets the tasks after a restart', async () => {
    const agent = mesh()
    const alice = agent('alice')
    const bob = agent('bob')
    await start(alice)
    const b = await start(bob)
    await sees(alice.env, 'bob')
    const identity = readFileSync(join(dataDir(bob), 'identity.key'))

    rmSync(dataDir(bob), { recursive: true, force: true })
    const sent: TaskJson[] = []
    for (let i = 0; i < 3; i++) sent.push(await delegate(alice.env, 'bob', `task ${i} after the rm`))
    // bob either exits (fixed) or acks them all into the deleted file (the bug)
    await eventually(async () => {
      if (b.proc.exitCode != null) return true
      const states = await Promise.all(sent.map((t) => stateOf(alice.env, t.id)))
      return states.every((s) => s === 'delivered') ? true : undefined
    }, 20_000)
    for (const t of sent) expect(await stateOf(alice.env, t.id)).toBe('submitted')
    expect(await b.exited).not.toBe(0)
    const lost = b.events.find((e) => e.event === 'store_lost')
    expect(lost).toBeDefined()
    expect(String(lost!.reason)).toContain(dataDir(bob))
    expect(String(lost!.reason)).toMatch(/removed/)

    // bob comes back with his identity (from a backup) and a fresh store: the tasks were never acked,
    // so alice's outbox delivers them now
    mkdirSync(dataDir(bob), { recursive: true, mode: 0o700 })
    writeFileSync(join(dataDir(bob), 'identity.key'), identity, { mode: 0o600 })
    const b2 = await start(bob, ['--reset-store'])
    expect(b2.peerId).toBe(b.peerId)
    await eventually(async () => {
      const states = await Promise.all(sent.map((t) => stateOf(alice.env, t.id)))
      return states.every((s) => s === 'delivered') ? true : undefined
    }, 30_000)
    const inbox = await cliJson<Array<{ id: string }>>(['poll'], bob.env)
    expect(inbox.map((e) => e.id).sort()).toEqual(sent.map((t) => t.id).sort())
  }, 90_000)

  it('the receiver whose store.db is replaced (mv over it) acks nothing and exits non-zero', async () => {
    const agent = mesh()
    const alice = agent('alice')
    const bob = agent('bob')
    await start(alice)
    const b = await start(bob)
    await sees(alice.env, 'bob')
    const store = join(dataDir(bob), 'store.db')
    const other = join(bob.home, 'other.db')
    copyFileSync(store, other)
    renameSync(other, store)

    const sent = await delegate(alice.env, 'bob', 'a task after the mv')
    await eventually(async () => {
      if (b.proc.exitCode != null) return true
      return (await stateOf(alice.env, sent.id)) === 'delivered' ? true : undefined
    }, 20_000)
    expect(await stateOf(alice.env, sent.id)).toBe('submitted')
    expect(await b.exited).not.toBe(0)
    const lost = b.events.find((e) => e.event === 'store_lost')
    expect(String(lost?.reason)).toContain(store)
    expect(String(lost?.reason)).toMatch(/replaced/)
    expect(b.stderr()).not.toMatch(/\n\s+at /)
  }, 60_000)

  it('a full disk: a clear error, store_error for an incoming task, the node stays up and recovers', async () => {
    const agent = mesh()
    const alice = agent('alice')
    const bob = agent('bob')
    const mnt = mkdtempSync(join(tmpdir(), 'clawlink-tmpfs-'))
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mnt])
    } catch (err) {
      rmSync(mnt, { recursive: true, force: true })
      throw new Error(`this test needs to mount a tmpfs (run as root): ${(err as Error).message}`)
    }
    mounts.push(mnt)
    const bobDir = join(mnt, 'bob')
    const a = await start(alice)
    const b = await start(bob, ['--data-dir', bobDir])
    await sees(alice.env, 'bob')
    await sees(bob.env, 'alice')

    // fill the disk to the last byte
    const filler = join(mnt, 'filler')
    const fd = openSync(filler, 'w')
    const chunk = Buffer.alloc(64 * 1024, 1)
    try {
      for (let i = 0; i < 1000; i++) writeSync(fd, chunk)
      throw new Error('the 6 MiB tmpfs never filled up')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
      for (let i = 0; i < 4096; i++) {
        try {
          writeSync(fd, Buffer.alloc(1, 1))
        } catch {
          break
        }
      }
    } finally {
      closeSync(fd)
    }

    const context = JSON.stringify({ blob: 'x'.repeat(100_000) })
    const r = await cli(
      ['delegate', '--to', 'alice', '--task', 'too big for the disk', '--context', context],
      bob.env,
    )
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`the disk holding ${bobDir} is full`)
    expect(r.stderr).not.toMatch(/cannot rollback/)

    // alice's task cannot be stored at bob: he says so, and sends no ack
    const incoming = await delegate(alice.env, 'bob', 'stored once there is room', context)
    const failed = await eventually(async () => b.events.find((e) => e.event === 'store_error'), 20_000)
    expect(failed.peer).toBe(a.peerId)
    expect(String(failed.reason)).toMatch(/full/)
    expect(await stateOf(alice.env, incoming.id)).toBe('submitted')
    expect(b.proc.exitCode).toBeNull()

    // room again: the same node stores alice's task (her retry) and bob's own delegate works
    rmSync(filler)
    await eventually(
      async () => ((await stateOf(alice.env, incoming.id)) === 'delivered' ? true : undefined),
      60_000,
    )
    const ok = await delegate(bob.env, 'alice', 'fits now', context)
    expect(ok.state).toBe('submitted')
    expect(b.proc.exitCode).toBeNull()
  }, 120_000)
})

describe('a missing, empty or damaged store at start, end to end', () => {
  const homes: string[] = []
  const procs: NodeProcess[] = []
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true })
  })

  /** A node started once and stopped; its store holds some table data (~1 MiB of meta rows). */
  async function usedNode(): Promise<{ agent: Agent; dir: string; store: string; peerId: string }> {
    const agent = agentMesh(homes)('bob')
    const p = await startAgent(procs, agent, ['--no-mdns'])
    await cliJson(['status'], agent.env)
    expect(await p.stop('SIGTERM')).toBe(0)
    const dir = join(agent.home, 'agents', 'bob')
    const store = join(dir, 'store.db')
    const { DatabaseSync } = require('node:sqlite') as typeof import('node:sqlite')
    const db = new DatabaseSync(store)
    db.exec('BEGIN')
    const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)')
    for (let i = 0; i < 1000; i++) put.run(`filler-${i}`, 'v'.repeat(1000))
    db.exec('COMMIT')
    db.close()
    return { agent, dir, store, peerId: p.peerId }
  }

  const startBob = (agent: Agent, extra: string[] = []) =>
    cli(['node', '--name', 'bob', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', ...extra], agent.env, {
      timeout: 20_000,
    })

  function expectRefused(r: { code: number | null; stderr: string }, store: string, what: RegExp): void {
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(store)
    expect(r.stderr).toMatch(what)
    expect(r.stderr).toContain('--reset-store')
    expect(r.stderr).not.toMatch(/\n\s+at /)
  }

  it('refuses a deleted store.db, then --reset-store starts fresh with the same PeerId', async () => {
    const { agent, dir, store, peerId } = await usedNode()
    rmSync(store)
    expectRefused(await startBob(agent), store, /missing/)
    expect(existsSync(store)).toBe(false)
    const p = await spawnNode(
      ['--name', 'bob', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--reset-store'],
      agent.env,
    )
    procs.push(p)
    expect(p.peerId).toBe(peerId)
    expect(p.events.some((e) => e.event === 'store_reset')).toBe(true)
    await cliJson(['status'], agent.env)
    expect(await p.stop('SIGTERM')).toBe(0)
    // the fresh store is a real one now: a plain start works
    const again = await spawnNode(
      ['--name', 'bob', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns'],
      agent.env,
    )
    procs.push(again)
    expect(again.peerId).toBe(peerId)
    expect(readdirSync(dir)).toContain('identity.key')
  }, 60_000)

  it('refuses a store.db truncated to zero bytes', async () => {
    const { agent, store } = await usedNode()
    truncateSync(store, 0)
    expectRefused(await startBob(agent), store, /empty/)
    expect(statSync(store).size).toBe(0)
  }, 60_000)

  it('refuses a store.db truncated to half', async () => {
    const { agent, store } = await usedNode()
    truncateSync(store, Math.floor(statSync(store).size / 2 / 4096) * 4096)
    const r = await startBob(agent)
    expectRefused(r, store, /damaged/)
  }, 60_000)

  it('refuses a store.db with a garbage page in the middle; --reset-store moves it aside and keeps the PeerId', async () => {
    const { agent, dir, store, peerId } = await usedNode()
    const pages = Math.floor(statSync(store).size / 4096)
    const fd = openSync(store, 'r+')
    writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, Math.floor(pages / 2) * 4096)
    closeSync(fd)
    const r = await startBob(agent)
    expectRefused(r, store, /damaged/)
    expect(r.stderr).toMatch(/quick_check/)
    const p = await spawnNode(
      ['--name', 'bob', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--reset-store'],
      agent.env,
    )
    procs.push(p)
    expect(p.peerId).toBe(peerId)
    // the damaged file is kept beside the fresh one, for whoever wants to salvage it
    expect(readdirSync(dir).some((f) => /^store\.db\.damaged-/.test(f))).toBe(true)
  }, 60_000)
})
