// The CLI's contract: help, version, exit codes, clear errors, node selection, and no libp2p import.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { StatusJson } from '../../src/api/types.js'
import { COMMANDS } from '../../src/cli/commands/index.js'
import { VERSION } from '../../src/version.js'
import { cli, cliJson, type NodeProcess, spawnNode } from '../helpers/cli.js'

const FORBID = fileURLToPath(new URL('../helpers/forbid-libp2p.mjs', import.meta.url))

describe('clawlink CLI', () => {
  const home = mkdtempSync(join(tmpdir(), 'clawlink-cli-'))
  const tag = `_cl-${randomBytes(4).toString('hex')}._udp.local`
  const env = { CLAWLINK_HOME: home, CLAWLINK_MDNS_TAG: tag }
  const procs: NodeProcess[] = []
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
  })
  afterAll(() => rmSync(home, { recursive: true, force: true }))

  it('prints its version and help; every command has --help', async () => {
    const v = await cli(['--version'], env)
    expect(v).toMatchObject({ code: 0, stdout: `${VERSION}\n` })
    const help = await cli(['--help'], env)
    expect(help.code).toBe(0)
    for (const c of COMMANDS) {
      expect(help.stdout).toContain(c.name)
      // help never loads libp2p, not even for `node`, `relay` or `mcp` (which load their deps on run)
      const h = await cli([c.name, '--help'], env, { nodeArgs: ['--import', FORBID] })
      expect(h.code).toBe(0)
      expect(h.stdout).toContain(`Usage: clawlink ${c.name}`)
      for (const opt of Object.keys(c.options)) expect(h.stdout).toContain(`--${opt}`)
    }
  })

  it('exits 2 with usage on unknown commands, flags and bad values', async () => {
    for (const args of [
      ['frobnicate'],
      ['discover', '--frob'],
      ['node', '--name', 'x', '--port', 'abc'],
      ['node', '--name', 'x', '--port', '70000'],
      ['node', '--name', 'x', '--heartbeat', 'soon'],
      ['discover', '--json=yes'],
      ['status', 'extra'],
      ['node'],
    ]) {
      const r = await cli(args, env)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr).toMatch(/^clawlink: /)
      expect(r.stderr).toMatch(/Usage|usage/)
      expect(r.stdout).toBe('')
    }
  })

  it('says how to start a node when none runs (exit 1), without loading libp2p', async () => {
    for (const cmd of ['discover', 'status', 'heartbeat']) {
      const r = await cli([cmd], env, { nodeArgs: ['--import', FORBID] })
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('no clawlink node is running; start one with: clawlink node --name NAME')
    }
    const named = await cli(['--as', 'ghost', 'discover'], env)
    expect(named.stderr).toContain('no node named ghost is running')
    const dir = await cli(['discover', '--data-dir', join(home, 'nowhere')], env)
    expect(dir.code).toBe(1)
    expect(dir.stderr).toContain('no node is running with data dir')
  })

  it('talks to a running node without importing libp2p, picks nodes by name, refuses a second node on a data dir', async () => {
    const a = await spawnNode(['--name', 'alpha', '--listen', '/ip4/127.0.0.1/tcp/0'], env)
    procs.push(a)
    const s = await cli(['status', '--json'], env, { nodeArgs: ['--import', FORBID] })
    expect(s.stderr).toBe('')
    expect(s.code).toBe(0)
    expect((JSON.parse(s.stdout) as StatusJson).card.id).toBe(a.peerId)

    // the same data dir twice: refused with a clear message, the first node unharmed
    const dup = await cli(['node', '--name', 'alpha', '--listen', '/ip4/127.0.0.1/tcp/0'], env, {
      timeout: 20_000,
    })
    expect(dup.code).toBe(1)
    expect(dup.stderr).toMatch(/in use by another running node \(pid \d+\)/)
    expect((await cliJson<StatusJson>(['status'], env)).card.id).toBe(a.peerId)

    // two nodes: the CLI asks which one, --as and CLAWLINK_AGENT choose
    const b = await spawnNode(['--name', 'beta', '--listen', '/ip4/127.0.0.1/tcp/0'], env)
    procs.push(b)
    const ambiguous = await cli(['status'], env)
    expect(ambiguous.code).toBe(1)
    expect(ambiguous.stderr).toMatch(/several nodes are running; choose one with --as NAME/)
    expect(ambiguous.stderr).toContain('alpha')
    expect(ambiguous.stderr).toContain('beta')
    expect((await cliJson<StatusJson>(['--as', 'beta', 'status'], env)).card.id).toBe(b.peerId)
    expect((await cliJson<StatusJson>(['status', '--as', 'alpha'], env)).card.id).toBe(a.peerId)
    expect((await cliJson<StatusJson>(['status'], { ...env, CLAWLINK_AGENT: 'beta' })).card.id).toBe(b.peerId)
    const byDir = await cliJson<StatusJson>(['status', '--data-dir', join(home, 'agents', 'alpha')], env)
    expect(byDir.card.id).toBe(a.peerId)

    // private files: identity, socket and data dir are this user's only
    const dataDir = join(home, 'agents', 'alpha')
    expect(statSync(dataDir).mode & 0o777).toBe(0o700)
    expect(statSync(join(dataDir, 'identity.key')).mode & 0o777).toBe(0o600)
    expect(statSync(join(dataDir, 'control.sock')).mode & 0o777).toBe(0o600)
    expect(statSync(join(home, 'mesh.key')).mode & 0o777).toBe(0o600)
  })

  it('recovers a stale lock left by a killed node', async () => {
    const a = await spawnNode(['--name', 'gamma', '--listen', '/ip4/127.0.0.1/tcp/0'], env)
    await a.stop('SIGKILL')
    const lock = join(home, 'agents', 'gamma', 'node.lock')
    // the lock (a SQLite file, its holder's pid in the header's user_version) outlives the killed node
    expect(readFileSync(lock).readUInt32BE(60)).toBe(a.proc.pid)
    const again = await spawnNode(['--name', 'gamma', '--listen', '/ip4/127.0.0.1/tcp/0'], env)
    procs.push(again)
    expect(again.peerId).toBe(a.peerId)
  })

  it('rejects bad mesh keys and bad node options with one clear line', async () => {
    const badKey = join(home, 'bad.key')
    writeFileSync(badKey, 'not a key\n')
    const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
      [['--key-file', badKey], env, /is not a mesh key/],
      [['--key-file', join(home, 'missing.key')], env, /does not exist/],
      [[], { ...env, CLAWLINK_KEY: 'zz' }, /CLAWLINK_KEY is not a mesh key/],
      [['--token', 'short'], env, /at least 8 characters/],
      [['--open', '--token', 'long enough secret'], env, /--open cannot be combined/],
      [['--caps', 'has space'], env, /invalid cap/],
      [['--listen', 'not-a-multiaddr'], env, /invalid multiaddr/],
    ]
    for (const [args, e, re] of cases) {
      const r = await cli(['node', '--name', 'delta', ...args], e)
      expect(r.code, args.join(' ')).not.toBe(0)
      expect(r.stderr, args.join(' ')).toMatch(re)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
  })

  it('keygen writes a 0600 key that nodes accept, and refuses to overwrite it', async () => {
    const file = join(home, 'team.key')
    const r = await cliJson<{ path: string; fingerprint: string }>(['keygen', '--output', file], env)
    expect(r.path).toBe(file)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readFileSync(file, 'utf8')).toMatch(/^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/)
    const again = await cli(['keygen', '--output', file], env)
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('--force')
    const node = await spawnNode(
      ['--name', 'keyed', '--key-file', file, '--listen', '/ip4/127.0.0.1/tcp/0'],
      env,
    )
    procs.push(node)
    expect((node.events[0]!.mesh as { fingerprint: string }).fingerprint).toBe(r.fingerprint)
  })
})
