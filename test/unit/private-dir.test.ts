// Socket and run-file dirs must be ours alone; the CLI must not talk to a socket another user controls.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ControlClient } from '../../src/client/control-client.js'
import { dataDirPaths } from '../../src/home/paths.js'
import { checkPrivateDir, ensurePrivateDir, UnsafePathError } from '../../src/home/private-dir.js'

/** "nobody": a uid that is not ours (the tests run as root, which may chown). */
const OTHER_UID = 65534

let base: string
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'clawlink-private-'))
})
afterEach(() => {
  rmSync(base, { recursive: true, force: true })
})

function squatted(dir: string): string {
  mkdirSync(dir)
  chownSync(dir, OTHER_UID, OTHER_UID)
  chmodSync(dir, 0o777)
  return dir
}

describe('ensurePrivateDir', () => {
  it('creates a missing dir 0700 and accepts our own private dir', () => {
    const dir = join(base, 'a', 'b')
    ensurePrivateDir(dir)
    ensurePrivateDir(dir)
  })

  it('refuses a dir another user created first, naming the path and the fix', () => {
    const dir = squatted(join(base, 'clawlink-0'))
    expect(() => ensurePrivateDir(dir)).toThrow(UnsafePathError)
    expect(() => ensurePrivateDir(dir)).toThrow(`refusing ${dir}: it is owned by uid ${OTHER_UID}`)
  })

  it('refuses a symlinked dir, even one pointing to a private dir of ours', () => {
    const target = join(base, 'real')
    mkdirSync(target, { mode: 0o700 })
    const link = join(base, 'link')
    symlinkSync(target, link)
    expect(() => ensurePrivateDir(link)).toThrow(`refusing ${link}: it is a symlink`)
  })

  it('refuses our own dir when group or others may write to it', () => {
    const dir = join(base, 'open')
    mkdirSync(dir)
    chmodSync(dir, 0o770)
    expect(() => checkPrivateDir(dir)).toThrow(`fix it with: chmod 700 ${dir}`)
  })
})

describe('the socket of a long data dir', () => {
  const long = () => join(base, 'x'.repeat(120), 'agent')

  it('goes under $XDG_RUNTIME_DIR/clawlink when it is set', () => {
    const xdg = join(base, 'run-user')
    const p = dataDirPaths(long(), { XDG_RUNTIME_DIR: xdg })
    expect(p.socket.startsWith(`${join(xdg, 'clawlink')}/`)).toBe(true)
  })

  it('goes to the per-user tmp folder without it', () => {
    const p = dataDirPaths(long(), {})
    expect(p.socket.startsWith(join(tmpdir(), `clawlink-${process.getuid!()}/`))).toBe(true)
  })
})

describe('ControlClient on a socket another user controls', () => {
  let server: Server | undefined
  let requests = 0
  afterEach(async () => {
    await new Promise<void>((r) => (server != null ? server.close(() => r()) : r()))
    server = undefined
  })

  /** A listening socket that counts connections, as a squatter's fake node would. */
  async function listen(path: string): Promise<void> {
    requests = 0
    server = createServer((s) => {
      requests++
      s.destroy()
    })
    await new Promise<void>((r) => server!.listen(path, r))
  }

  it('refuses to connect when the socket dir is owned by another user', async () => {
    const dir = squatted(join(base, 'sq'))
    const sock = join(dir, 'n.sock')
    await listen(sock)
    await expect(new ControlClient(sock, 'n').get('/v1/status')).rejects.toThrow(
      `refusing ${dir}: it is owned by uid ${OTHER_UID}`,
    )
    expect(requests).toBe(0)
  })

  it('refuses to connect when the socket dir is a symlink', async () => {
    const real = join(base, 'real')
    mkdirSync(real, { mode: 0o700 })
    const link = join(base, 'link')
    symlinkSync(real, link)
    await listen(join(real, 'n.sock'))
    await expect(new ControlClient(join(link, 'n.sock'), 'n').get('/v1/status')).rejects.toThrow(
      `refusing ${link}: it is a symlink`,
    )
    expect(requests).toBe(0)
  })

  it('refuses a socket owned by another user in our own dir', async () => {
    const dir = join(base, 'mine')
    mkdirSync(dir, { mode: 0o700 })
    const sock = join(dir, 'n.sock')
    await listen(sock)
    chownSync(sock, OTHER_UID, OTHER_UID)
    await expect(new ControlClient(sock, 'n').get('/v1/status')).rejects.toThrow(
      `refusing ${sock}: the socket is owned by uid ${OTHER_UID}`,
    )
    expect(requests).toBe(0)
  })
})
