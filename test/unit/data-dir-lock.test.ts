import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ensurePrivateDir, lockDataDir, processAlive } from '../../src/home/data-dir-lock.js'
import { DataDirLockedError } from '../../src/home/errors.js'
import { dataDirPaths } from '../../src/home/paths.js'

let base: string
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'clawlink-datadir-'))
})
afterEach(() => {
  rmSync(base, { recursive: true, force: true })
})

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', ''])
  expect(child.status).toBe(0)
  expect(child.pid).toBeGreaterThan(0)
  return child.pid!
}

function paths() {
  const p = dataDirPaths(join(base, 'agent'))
  ensurePrivateDir(p.root)
  return p
}

describe('ensurePrivateDir', () => {
  it('creates nested directories with mode 0700', () => {
    const dir = join(base, 'a', 'b')
    ensurePrivateDir(dir)
    expect(statSync(dir).isDirectory()).toBe(true)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    // Idempotent.
    ensurePrivateDir(dir)
  })
})

describe('processAlive', () => {
  it('is true for this process and false for a dead one or a bad pid', () => {
    expect(processAlive(process.pid)).toBe(true)
    expect(processAlive(deadPid())).toBe(false)
    expect(processAlive(0)).toBe(false)
    expect(processAlive(-1)).toBe(false)
    expect(processAlive(Number.NaN)).toBe(false)
    expect(processAlive(1.5)).toBe(false)
  })
})

describe('lockDataDir', () => {
  it('creates the lock file, mode 0600, naming our pid for others', () => {
    const p = paths()
    const lock = lockDataDir(p)
    try {
      expect(statSync(p.lock).mode & 0o777).toBe(0o600)
    } finally {
      lock.release()
    }
  })

  it('refuses a second lock in the same process, naming the data dir and our pid', () => {
    const p = paths()
    const lock = lockDataDir(p)
    try {
      let error: unknown
      try {
        lockDataDir(p)
      } catch (err) {
        error = err
      }
      expect(error).toBeInstanceOf(DataDirLockedError)
      expect((error as Error).message).toContain(p.root)
      expect((error as Error).message).toContain(String(process.pid))
    } finally {
      lock.release()
    }
  })

  it('release lets the dir be locked again, and is safe to call twice', () => {
    const p = paths()
    const lock = lockDataDir(p)
    lock.release()
    expect(() => lock.release()).not.toThrow()
    lockDataDir(p).release()
  })

  it.each([
    ['the pid of a live process (a reused pid: pid 1)', '1\n'],
    ['the pid of a dead process', 'DEAD'],
    ['garbage', 'not a pid at all'],
    ['an empty file', ''],
    ['a negative pid', '-5\n'],
  ])('takes a lock file holding %s: only a held OS lock blocks', (_label, content) => {
    const p = paths()
    writeFileSync(p.lock, content === 'DEAD' ? `${deadPid()}\n` : content)
    lockDataDir(p).release()
  })

  it('fails with the fs error when the data dir does not exist', () => {
    const p = dataDirPaths(join(base, 'missing'))
    expect(() => lockDataDir(p)).toThrow(/ENOENT|unable to open/)
  })

  it('keeps two data dirs independent', () => {
    const a = dataDirPaths(join(base, 'a'))
    const b = dataDirPaths(join(base, 'b'))
    ensurePrivateDir(a.root)
    ensurePrivateDir(b.root)
    const la = lockDataDir(a)
    const lb = lockDataDir(b)
    la.release()
    lb.release()
  })

  it('leaves no file but node.lock behind, on success or refusal', () => {
    const p = paths()
    const lock = lockDataDir(p)
    expect(() => lockDataDir(p)).toThrow(DataDirLockedError)
    lock.release()
    expect(readdirSync(p.root)).toEqual(['node.lock'])
  })
})

/** Runs a child (the built code: run `npm run build` first) that takes the lock of `dataDir` and says so
 *  on stdout; it holds it until killed. */
function lockHolder(dataDir: string): Promise<{ child: ChildProcess; line: string }> {
  const script = `
    const { lockDataDir } = await import(${JSON.stringify(new URL('../../dist/home/data-dir-lock.js', import.meta.url).href)})
    const { dataDirPaths } = await import(${JSON.stringify(new URL('../../dist/home/paths.js', import.meta.url).href)})
    try { lockDataDir(dataDirPaths(${JSON.stringify(dataDir)})); console.log('locked ' + process.pid) }
    catch (err) { console.log('refused ' + err.message); process.exit(3) }
    setInterval(() => {}, 1e6)`
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const nl = out.indexOf('\n')
      if (nl >= 0) resolve({ child, line: out.slice(0, nl) })
    })
    child.once('exit', (code) => reject(new Error(`lock holder exited ${code}: ${out}`)))
  })
}

describe('lockDataDir across processes', () => {
  it('blocks a second process while held, and is free the moment the holder is killed -9', async () => {
    const p = paths()
    const first = await lockHolder(p.root)
    try {
      expect(first.line).toBe(`locked ${first.child.pid}`)
      // another process is refused at once, told who holds it
      expect(() => lockDataDir(p)).toThrow(
        new RegExp(`in use by another running node \\(pid ${first.child.pid}\\)`),
      )
      const second = await lockHolder(p.root)
      expect(second.line).toBe(
        `refused data dir ${p.root} is in use by another running node (pid ${first.child.pid}); stop it first or use another --name / --data-dir`,
      )
    } finally {
      const gone = new Promise((r) => first.child.once('exit', r))
      first.child.kill('SIGKILL')
      await gone
    }
    // the kernel dropped the dead holder's lock: no stale lock to clean up
    lockDataDir(p).release()
  })
})

describe('dataDirPaths', () => {
  it('puts everything inside a short data dir, socket included', () => {
    const dir = join(base, 'agent')
    const p = dataDirPaths(dir)
    expect(p).toEqual({
      root: dir,
      identity: join(dir, 'identity.key'),
      lock: join(dir, 'node.lock'),
      store: join(dir, 'store.db'),
      blobs: join(dir, 'blobs'),
      control: join(dir, 'control.json'),
      socket: join(dir, 'control.sock'),
    })
  })

  it('resolves a relative data dir', () => {
    expect(dataDirPaths('some/rel').root).toBe(join(process.cwd(), 'some/rel'))
  })

  it('moves the socket of a very long data dir under the tmp dir, below 104 bytes', () => {
    const dir = join(base, 'x'.repeat(150), 'agent')
    const p = dataDirPaths(dir)
    expect(p.root).toBe(dir)
    expect(p.store).toBe(join(dir, 'store.db'))
    expect(p.socket.startsWith(`${tmpdir()}/`)).toBe(true)
    expect(p.socket.endsWith('.sock')).toBe(true)
    expect(Buffer.byteLength(p.socket)).toBeLessThan(104)
  })

  it('measures the socket path in bytes: a short path of multi-byte characters moves too', () => {
    // 30 CJK characters are 30 UTF-16 units but 90 bytes: with the rest, more than sun_path holds.
    const dir = join(base, '代'.repeat(30))
    expect(join(dir, 'control.sock').length).toBeLessThan(100)
    const p = dataDirPaths(dir)
    expect(Buffer.byteLength(p.socket)).toBeLessThan(104)
  })

  it('gives different long data dirs different sockets, and the same dir the same one', () => {
    const a = join(base, 'y'.repeat(150), 'a')
    const b = join(base, 'y'.repeat(150), 'b')
    expect(dataDirPaths(a).socket).not.toBe(dataDirPaths(b).socket)
    expect(dataDirPaths(a).socket).toBe(dataDirPaths(`${a}/`).socket)
  })
})
