// file-put refuses the node's own secrets and private state (unless --force); file-get --output writes
// files only the user can read (unless --mode says otherwise). Real node, real CLI.
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { FileJson } from '../../src/api/types.js'
import { agentMesh, cli, cliJson, type NodeProcess, startAgent } from '../helpers/cli.js'

describe('shared files and local secrets', () => {
  const dirs: string[] = []
  const procs: NodeProcess[] = []
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })

  it('file-put refuses identity.key, the mesh key in use, anything under CLAWLINK_HOME and links to them; --force overrides', async () => {
    const alice = agentMesh(dirs)('alice')
    const work = mkdtempSync(join(tmpdir(), 'clawlink-secrets-'))
    dirs.push(work)
    // the mesh key lives outside the home: --key-file
    const keyFile = join(work, 'team.key')
    writeFileSync(keyFile, `${alice.env.CLAWLINK_KEY}\n`, { mode: 0o600 })
    await startAgent(procs, alice, ['--key-file', keyFile])
    const identity = join(alice.home, 'agents', 'alice', 'identity.key')
    expect(statSync(identity).isFile()).toBe(true)
    const inHome = join(alice.home, 'notes.txt')
    writeFileSync(inHome, 'private notes')
    const link = join(work, 'innocent.txt')
    symlinkSync(identity, link)
    const hard = join(work, 'hard.txt')
    linkSync(keyFile, hard)

    for (const [path, what] of [
      [identity, /identity key/],
      [keyFile, /mesh key/],
      [hard, /mesh key/],
      [inHome, /CLAWLINK_HOME|data directory/],
      [link, /identity key/],
    ] as const) {
      const r = await cli(['file-put', '--key', 'leak.bin', '--file', path], alice.env)
      expect(r.code, `${path}: ${r.stderr}`).toBe(1)
      expect(r.stderr).toContain(path)
      expect(r.stderr).toMatch(what)
      expect(r.stderr).toContain('--force')
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
    // nothing was published
    expect(await cliJson<FileJson[]>(['file-list'], alice.env)).toEqual([])

    // an ordinary file is fine, and --force is the explicit way to share a protected one
    const plain = join(work, 'plain.txt')
    writeFileSync(plain, 'hello')
    expect(
      (await cliJson<FileJson>(['file-put', '--key', 'plain.txt', '--file', plain], alice.env)).version,
    ).toBe(1)
    const forced = await cliJson<FileJson>(
      ['file-put', '--key', 'notes.txt', '--file', inHome, '--force'],
      alice.env,
    )
    expect(forced.size).toBe('private notes'.length)
  })

  it('file-get --output creates the file with mode 0600, --mode chooses another', async () => {
    const alice = agentMesh(dirs)('alice')
    await startAgent(procs, alice)
    const work = mkdtempSync(join(tmpdir(), 'clawlink-mode-'))
    dirs.push(work)
    const src = join(work, 'src.txt')
    writeFileSync(src, 'content')
    await cliJson<FileJson>(['file-put', '--key', 'doc.txt', '--file', src], alice.env)

    const out = join(work, 'out', 'doc.txt')
    mkdirSync(join(work, 'out'))
    expect((await cli(['file-get', '--key', 'doc.txt', '--output', out], alice.env)).code).toBe(0)
    expect(readFileSync(out, 'utf8')).toBe('content')
    expect(statSync(out).mode & 0o777).toBe(0o600)

    const shared = join(work, 'out', 'shared.txt')
    expect(
      (await cli(['file-get', '--key', 'doc.txt', '--output', shared, '--mode', '644'], alice.env)).code,
    ).toBe(0)
    expect(statSync(shared).mode & 0o777).toBe(0o644)
    // --mode is exact, whatever the umask; an existing file given --mode gets it too
    expect(
      (await cli(['file-get', '--key', 'doc.txt', '--output', shared, '--mode', '0640'], alice.env)).code,
    ).toBe(0)
    expect(statSync(shared).mode & 0o777).toBe(0o640)
    // replacing an existing file without --mode keeps that file's mode
    expect((await cli(['file-get', '--key', 'doc.txt', '--output', shared], alice.env)).code).toBe(0)
    expect(statSync(shared).mode & 0o777).toBe(0o640)

    for (const bad of ['999', 'rw', '12345', '-1']) {
      const r = await cli(
        ['file-get', '--key', 'doc.txt', '--output', join(work, 'x'), '--mode', bad],
        alice.env,
      )
      expect(r.code, bad).toBe(2)
      expect(r.stderr).toMatch(/--mode/)
    }
  })
})
