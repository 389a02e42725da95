import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ensurePrivateDir, lockDataDir, processAlive } from '../../src/node/data-dir.js'
import { DataDirLockedError } from '../../src/node/errors.js'
import { dataDirPaths } from '../../src/node/paths.js'

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
  it('creates the lock file holding our pid, mode 0600', () => {
    const p = paths()
    const lock = lockDataDir(p)
    try {
      expect(readFileSync(p.lock, 'utf8').trim()).toBe(String(process.pid))
      expect(statSync(p.lock).mode & 0o777).toBe(0o600)
    } finally {
      lock.release()
    }
  })

  it('refuses a second lock in the same process, naming the data dir', () => {
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
      // The refused attempt leaves the holder's lock alone.
      expect(readFileSync(p.lock, 'utf8').trim()).toBe(String(process.pid))
    } finally {
      lock.release()
    }
  })

  it('release removes the lock, and the dir can be locked again', () => {
    const p = paths()
    lockDataDir(p).release()
    expect(existsSync(p.lock)).toBe(false)
    const again = lockDataDir(p)
    expect(existsSync(p.lock)).toBe(true)
    again.release()
    expect(existsSync(p.lock)).toBe(false)
  })

  it('release leaves a lock that is no longer ours', () => {
    const p = paths()
    const lock = lockDataDir(p)
    writeFileSync(p.lock, '999999999\n')
    lock.release()
    expect(readFileSync(p.lock, 'utf8')).toBe('999999999\n')
  })

  it('release is safe to call twice and after the file is gone', () => {
    const p = paths()
    const lock = lockDataDir(p)
    lock.release()
    expect(() => lock.release()).not.toThrow()
  })

  it('recovers a stale lock left by a dead process', () => {
    const p = paths()
    const pid = deadPid()
    writeFileSync(p.lock, `${pid}\n`)
    const lock = lockDataDir(p)
    try {
      expect(readFileSync(p.lock, 'utf8').trim()).toBe(String(process.pid))
    } finally {
      lock.release()
    }
  })

  it('is refused while a live process holds the lock', () => {
    const p = paths()
    // The parent of the test process is alive for as long as we are.
    writeFileSync(p.lock, `${process.ppid}\n`)
    expect(() => lockDataDir(p)).toThrow(DataDirLockedError)
    expect(() => lockDataDir(p)).toThrow(new RegExp(`pid ${process.ppid}`))
    expect(readFileSync(p.lock, 'utf8')).toBe(`${process.ppid}\n`)
  })

  it.each([
    ['garbage', 'not a pid at all'],
    ['an empty file', ''],
    ['a negative pid', '-5\n'],
  ])('recovers a lock file holding %s', (_label, content) => {
    const p = paths()
    writeFileSync(p.lock, content)
    const lock = lockDataDir(p)
    try {
      expect(readFileSync(p.lock, 'utf8').trim()).toBe(String(process.pid))
    } finally {
      lock.release()
    }
  })

  it('fails with the fs error when the data dir does not exist', () => {
    const p = dataDirPaths(join(base, 'missing'))
    expect(() => lockDataDir(p)).toThrow(/ENOENT/)
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
