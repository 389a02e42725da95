// The local edges of a node, through the real CLI: who may own its socket folders, its lock, the files
// it reads secrets from, and what a bad option value gets. Needs `npm run build`.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { encodeKeyFile, fingerprint, generateKey, keyFromToken } from '../../src/home/mesh-key.js'
import { BIN, cli, eventually, type NodeProcess, spawnNode } from '../helpers/cli.js'

/** "nobody": a uid that is not ours (the tests run as root, which may chown). */
const OTHER_UID = 65534
const LOOPBACK = ['--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0']

const dirs: string[] = []
const procs: NodeProcess[] = []
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
})
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** A fresh ClawLink home with its own mesh key and tmp dir (no XDG_RUNTIME_DIR unless a test sets it). */
function setup() {
  const home = mkdtempSync(join(tmpdir(), 'clawlink-edges-'))
  dirs.push(home)
  const tmp = join(home, 'tmp')
  mkdirSync(tmp, { mode: 0o700 })
  const env: NodeJS.ProcessEnv = {
    CLAWLINK_HOME: home,
    CLAWLINK_KEY: encodeKeyFile(generateKey()),
    CLAWLINK_MDNS_TAG: `_cl-${randomBytes(4).toString('hex')}._udp.local`,
    TMPDIR: tmp,
  }
  // too long for a socket path: the socket goes to a per-user folder elsewhere
  const longDir = join(home, 'x'.repeat(120), 'agent')
  return { home, tmp, env, longDir }
}

function squat(dir: string): void {
  mkdirSync(dir)
  chownSync(dir, OTHER_UID, OTHER_UID)
  chmodSync(dir, 0o777)
}

describe('control socket folders another user controls', () => {
  it('a node refuses to start when another user created its socket folder first', async () => {
    const { tmp, env, longDir } = setup()
    const sockDir = join(tmp, `clawlink-${process.getuid!()}`)
    squat(sockDir)
    const r = await cli(['node', '--name', 'sq', '--data-dir', longDir, ...LOOPBACK], env, {
      timeout: 15_000,
    })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      `clawlink: refusing ${sockDir}: it is owned by uid ${OTHER_UID}, not by you (uid 0), so that user could read or fake the control socket; remove it (as that user or root) and try again\n`,
    )
    // nothing of ours went into it
    expect(readdirSync(sockDir)).toEqual([])
  })

  it('a node refuses a socket folder that is a symlink', async () => {
    const { tmp, env, longDir, home } = setup()
    const target = join(home, 'elsewhere')
    squat(target)
    const sockDir = join(tmp, `clawlink-${process.getuid!()}`)
    symlinkSync(target, sockDir)
    const r = await cli(['node', '--name', 'sl', '--data-dir', longDir, ...LOOPBACK], env, {
      timeout: 15_000,
    })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`clawlink: refusing ${sockDir}: it is a symlink`)
    expect(readdirSync(target)).toEqual([])
  })

  it('a node refuses a run folder ($CLAWLINK_HOME/run) owned by another user', async () => {
    const { home, env } = setup()
    squat(join(home, 'run'))
    const r = await cli(['node', '--name', 'rn', ...LOOPBACK], env, { timeout: 15_000 })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`clawlink: refusing ${join(home, 'run')}: it is owned by uid ${OTHER_UID}`)
  })

  it('prefers $XDG_RUNTIME_DIR for the socket of a long data dir', async () => {
    const { home, tmp, env, longDir } = setup()
    const xdg = join(home, 'xdg')
    mkdirSync(xdg, { mode: 0o700 })
    const xenv = { ...env, XDG_RUNTIME_DIR: xdg }
    procs.push(await spawnNode(['--name', 'xd', '--data-dir', longDir, ...LOOPBACK], xenv))
    expect(readdirSync(join(xdg, 'clawlink')).filter((f) => f.endsWith('.sock'))).toHaveLength(1)
    expect(readdirSync(tmp)).toEqual([])
    const r = await cli(['status', '--data-dir', longDir, '--json'], xenv)
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).card.name).toBe('xd')
  })

  it('the CLI refuses to talk to a node whose socket folder another user has taken over', async () => {
    const { tmp, env, longDir } = setup()
    procs.push(await spawnNode(['--name', 'tk', '--data-dir', longDir, ...LOOPBACK], env))
    expect((await cli(['status', '--data-dir', longDir], env)).code).toBe(0)
    const sockDir = join(tmp, `clawlink-${process.getuid!()}`)
    chownSync(sockDir, OTHER_UID, OTHER_UID)
    chmodSync(sockDir, 0o777)
    const r = await cli(['status', '--data-dir', longDir], env)
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`clawlink: refusing ${sockDir}: it is owned by uid ${OTHER_UID}`)
    // and through the run dir, with no --data-dir
    const r2 = await cli(['status'], env)
    expect(r2.code).toBe(1)
    expect(r2.stderr).toContain(`refusing ${sockDir}`)
  })
})

describe('the data dir lock', () => {
  it('a lock file naming a live pid that does not hold it (pid 1 after a reboot) does not block a start', async () => {
    const { home, env } = setup()
    const dataDir = join(home, 'agents', 'rb')
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    writeFileSync(join(dataDir, 'node.lock'), '1\n')
    procs.push(await spawnNode(['--name', 'rb', ...LOOPBACK], env))
  })

  it('a running node blocks a second one on its data dir; after kill -9 a restart works at once', async () => {
    const { home, env } = setup()
    const first = await spawnNode(['--name', 'lk', ...LOOPBACK], env)
    procs.push(first)
    const r = await cli(['node', '--name', 'lk', ...LOOPBACK], env, { timeout: 15_000 })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      `clawlink: data dir ${join(home, 'agents', 'lk')} is in use by another running node (pid ${first.proc.pid}); stop it first or use another --name / --data-dir\n`,
    )
    first.proc.kill('SIGKILL')
    await first.exited
    procs.push(await spawnNode(['--name', 'lk', ...LOOPBACK], env))
    // no temporary lock files from the failed start or the restart
    expect(readdirSync(join(home, 'agents', 'lk')).filter((f) => f.includes('tmp'))).toEqual([])
  })
})

/** Runs `clawlink node` under /usr/bin/time; returns its exit code, stderr, peak RSS (KiB) and duration. */
function nodeMeasured(args: string[], env: NodeJS.ProcessEnv, timeout = 15_000) {
  return new Promise<{ code: number | null; stderr: string; maxRssKiB: number; ms: number }>((resolve) => {
    const started = Date.now()
    const child = spawn('/usr/bin/time', ['-f', 'maxrss=%M', process.execPath, BIN, 'node', ...args], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
      // its own process group: a timeout kills the node under `time` too
      detached: true,
    })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeout)
    child.on('close', (code) => {
      clearTimeout(timer)
      const rss = Number(/maxrss=(\d+)/.exec(stderr)?.[1] ?? Number.NaN)
      resolve({ code, stderr: stderr.replace(/maxrss=\d+\n?/, ''), maxRssKiB: rss, ms: Date.now() - started })
    })
  })
}

describe('--key-file that is not a small file', () => {
  it('refuses /dev/zero quickly, with bounded memory', async () => {
    const { env } = setup()
    // reading on would never end: a node that tried is killed at the timeout (and fails here), while a
    // slow start on a loaded machine (CI saw one pass 15 s) is not mistaken for it
    const r = await nodeMeasured(['--name', 'kz', '--key-file', '/dev/zero', ...LOOPBACK], env, 50_000)
    expect(r.stderr).toContain('clawlink: key file /dev/zero is larger than 4096 bytes')
    expect(r.code).toBe(1)
    expect(r.maxRssKiB).toBeLessThan(300 * 1024)
  })

  it('--allow-file /dev/zero is refused too, and a real allow file still works', async () => {
    const { home, env } = setup()
    const r = await nodeMeasured(['--name', 'az', '--allow-file', '/dev/zero', ...LOOPBACK], env, 50_000)
    expect(r.stderr).toContain('clawlink: --allow-file /dev/zero is larger than 1048576 bytes')
    expect(r.code).toBe(1)
    expect(r.maxRssKiB).toBeLessThan(300 * 1024)
    const allow = join(home, 'allow')
    writeFileSync(allow, '# friends\n12D3KooWSPchMfF4E4mQVfFMuhTd72548jzKCpvZENjRjF8oHBD1\n')
    procs.push(await spawnNode(['--name', 'az', '--allow-file', allow, ...LOOPBACK], env))
  })

  it('refuses a FIFO nobody writes to, at once instead of hanging', async () => {
    const { home, env } = setup()
    const fifo = join(home, 'key.fifo')
    const mk = spawn('mkfifo', [fifo])
    await new Promise((r) => mk.on('close', r))
    const r = await cli(['node', '--name', 'kf', '--key-file', fifo, ...LOOPBACK], env, { timeout: 15_000 })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`clawlink: key file ${fifo} is not a mesh key`)
  })

  it('refuses a regular file over 4 KiB', async () => {
    const { home, env } = setup()
    const big = join(home, 'big.key')
    writeFileSync(big, `${encodeKeyFile(generateKey())}${'#'.repeat(5000)}\n`)
    const r = await cli(['node', '--name', 'kb', '--key-file', big, ...LOOPBACK], env, { timeout: 15_000 })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`clawlink: key file ${big} is larger than 4096 bytes`)
  })
})

describe('bad option values are usage errors (exit 2, one line naming the option)', () => {
  const { env } = setup()
  const node = (...args: string[]) => ['node', '--name', 'ok', ...args, ...LOOPBACK]
  const caps40 = Array.from({ length: 40 }, (_, i) => `c${i}`).join(',')
  const udp = '/ip4/127.0.0.1/udp/5000'
  const cases: Array<[string, string[], string]> = [
    [
      'node --name with a space',
      ['node', '--name', 'bad name', ...LOOPBACK],
      '--name: invalid agent name "bad name"',
    ],
    ['node --caps repeated', node('--caps', 'a,a'), '--caps: caps must not repeat'],
    ['node --caps too many', node('--caps', caps40), '--caps: too many caps'],
    [
      'node --description too long',
      node('--description', 'd'.repeat(3000)),
      '--description: description too long',
    ],
    [
      'node --listen on UDP',
      ['node', '--name', 'ok', '--no-mdns', '--listen', udp],
      `--listen ${udp}: ClawLink speaks TCP only`,
    ],
    ['node --peer on UDP', node('--peer', udp), `--peer ${udp}: ClawLink speaks TCP only`],
    [
      'node --open with --key-file',
      node('--open', '--key-file', '/nonexistent'),
      '--open cannot be combined with --key-file',
    ],
    [
      'node --token and --token-file',
      node('--token-file', '/dev/null', '--token', 'x'),
      'give --token or --token-file, not both',
    ],
    [
      'node --token too short',
      node('--token', 'short'),
      '--token: the mesh token must be at least 8 characters',
    ],
    [
      'relay --listen on UDP',
      ['relay', '--no-mdns', '--listen', udp],
      `--listen ${udp}: ClawLink speaks TCP only`,
    ],
    [
      'register --name with a space',
      ['register', '--name', 'bad name'],
      '--name: invalid agent name "bad name"',
    ],
    ['register --caps repeated', ['register', '--caps', 'a,a'], '--caps: caps must not repeat'],
  ]
  it.each(cases)('%s', async (_label, args, reason) => {
    const r = await cli(args, env, { timeout: 15_000 })
    expect(r.code).toBe(2)
    expect(r.stderr.split('\n')[0]).toContain(`clawlink: ${reason}`)
    expect(r.stderr).not.toContain('unexpected error')
  })
})

describe('secrets on the command line', () => {
  const warned = (p: NodeProcess, option: string) =>
    p.events.some(
      (e) =>
        e.event === 'secret_in_arguments' && String(e.level) === 'warn' && JSON.stringify(e).includes(option),
    )

  it('warns when --token or --v1-token is given as an argument, not when it comes from the environment or a file', async () => {
    const { home, env } = setup()
    const { CLAWLINK_KEY: _k, ...noKey } = env
    const inArgs = await spawnNode(
      [
        '--name',
        'ta',
        '--token',
        'correct horse battery',
        '--v1-api',
        '127.0.0.1:0',
        '--v1-token',
        'v1-secret-123',
        ...LOOPBACK,
      ],
      noKey,
    )
    procs.push(inArgs)
    expect(warned(inArgs, '--token')).toBe(true)
    expect(warned(inArgs, '--v1-token')).toBe(true)

    const viaEnv = await spawnNode(['--name', 'te', '--v1-api', '127.0.0.1:0', ...LOOPBACK], {
      ...noKey,
      CLAWLINK_TOKEN: 'correct horse battery',
      CLAWLINK_V1_TOKEN: 'v1-secret-123',
    })
    procs.push(viaEnv)
    expect(viaEnv.events.some((e) => e.event === 'secret_in_arguments')).toBe(false)

    const tokenFile = join(home, 'token')
    writeFileSync(tokenFile, 'correct horse battery\n', { mode: 0o600 })
    const v1File = join(home, 'v1token')
    writeFileSync(v1File, 'v1-secret-123\n', { mode: 0o600 })
    const viaFile = await spawnNode(
      [
        '--name',
        'tf',
        '--token-file',
        tokenFile,
        '--v1-api',
        '127.0.0.1:0',
        '--v1-token-file',
        v1File,
        ...LOOPBACK,
      ],
      noKey,
    )
    procs.push(viaFile)
    expect(viaFile.events.some((e) => e.event === 'secret_in_arguments')).toBe(false)
    // the same mesh as the token on the command line
    const fp = fingerprint(keyFromToken('correct horse battery'))
    for (const p of [inArgs, viaEnv, viaFile]) {
      const started = p.events.find((e) => e.event === 'started')
      expect((started?.mesh as { fingerprint?: string } | undefined)?.fingerprint).toBe(fp)
    }
    expect(existsSync(tokenFile)).toBe(true)
  })

  it('warns on stderr in text mode', async () => {
    const { env } = setup()
    const { CLAWLINK_KEY: _k, ...noKey } = env
    const ok = spawn(
      process.execPath,
      [BIN, 'node', '--name', 'tw', '--token', 'correct horse battery', ...LOOPBACK],
      {
        env: { PATH: process.env.PATH, ...noKey },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let stderr = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no warning: ${stderr}`)), 15_000)
      ok.stderr.on('data', (d: Buffer) => {
        stderr += d.toString()
        if (stderr.includes('\n') && /started|WARN/.test(stderr)) {
          clearTimeout(timer)
          resolve()
        }
      })
    })
    ok.kill('SIGKILL')
    expect(stderr).toContain(
      'WARN: WARNING: --token on the command line is visible to every local user (ps, /proc); use CLAWLINK_TOKEN or --token-file instead',
    )
  })
})

describe('a node that dies while the CLI waits on it', () => {
  it('poll --wait says the node went away, not that it sent a malformed answer', async () => {
    const { home, env } = setup()
    const node = await spawnNode(['--name', 'pw', ...LOOPBACK], env)
    procs.push(node)
    const sock = join(home, 'agents', 'pw', 'control.sock')
    const poll = cli(['poll', '--wait', '60'], env, { timeout: 30_000 })
    // the long poll is in: the node's socket has a connection (ss lists both ends by the path)
    await eventually(async () => {
      const ss = spawn('ss', ['-xH', 'state', 'connected'])
      let out = ''
      ss.stdout.on('data', (d: Buffer) => {
        out += d.toString()
      })
      await new Promise((r) => ss.on('close', r))
      return out.includes(sock) ? true : undefined
    })
    node.proc.kill('SIGKILL')
    const r = await poll
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      /^clawlink: the node pw .*went away while answering \(it stopped or crashed\); is it still running\?\n$/,
    )
  })
})
