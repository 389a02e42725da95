// The shared file map between real `clawlink node` processes, driven through the CLI.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { EventJson, FileJson, FileVersionJson } from '../../src/api/types.js'
import {
  type Agent,
  agentMesh,
  cli,
  cliJson,
  eventually,
  type NodeProcess,
  seesAll,
  startAgent,
} from '../helpers/cli.js'

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer)
  return h.digest('hex')
}

describe('shared files, end to end', () => {
  const dirs: string[] = []
  const procs: NodeProcess[] = []
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })
  const mesh = () => agentMesh(dirs)
  const start = (agent: Agent, extra: string[] = []) => startAgent(procs, agent, extra)

  it('a text, a binary and a 100 MiB file put on one node read back byte-identical on two others', async () => {
    const agent = mesh()
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map(agent) as Array<ReturnType<typeof agent>>
    await Promise.all([alice, bob, carol].map((a) => start(a!)))
    await seesAll(alice!.env, ['bob', 'carol'])
    const work = mkdtempSync(join(tmpdir(), 'clawlink-files-'))
    dirs.push(work)
    const text = join(work, 'q3.md')
    writeFileSync(text, '# Q3\n\nRevenue up. Ünïcödé kept.\n')
    const binary = join(work, 'model.bin')
    writeFileSync(binary, randomBytes(3 * 1024 * 1024 + 17))
    const big = join(work, 'big.bin')
    const chunk = randomBytes(1024 * 1024)
    writeFileSync(
      big,
      Buffer.concat(
        Array.from({ length: 100 }, (_, i) => Buffer.concat([chunk.subarray(i), chunk.subarray(0, i)])),
      ),
    )

    const put1 = await cliJson<FileJson>(['file-put', '--key', 'reports/q3.md', '--file', text], alice!.env)
    expect(put1).toMatchObject({
      key: 'reports/q3.md',
      version: 1,
      mediaType: 'text/markdown',
      conflict: false,
      author: { name: 'alice' },
    })
    await cliJson<FileJson>(['file-put', '--key', 'models/model.bin', '--file', binary], alice!.env)
    const put3 = await cliJson<FileJson>(
      ['file-put', '--key', 'data/big.bin', '--file', big, '--type', 'application/octet-stream'],
      alice!.env,
    )
    expect(put3.size).toBe(100 * 1024 * 1024)

    for (const other of [bob!, carol!]) {
      const listed = await eventually(async () => {
        const l = await cliJson<FileJson[]>(['file-list'], other.env)
        return l.length === 3 ? l : undefined
      })
      expect(listed.map((f) => f.key)).toEqual(['data/big.bin', 'models/model.bin', 'reports/q3.md'])
      for (const [key, src] of [
        ['reports/q3.md', text],
        ['models/model.bin', binary],
        ['data/big.bin', big],
      ] as const) {
        const out = join(work, `${other.name}-${key.replace(/\//g, '_')}`)
        const r = await cli(['file-get', '--key', key, '--output', out], other.env, { timeout: 120_000 })
        expect(r.code, r.stderr).toBe(0)
        expect(await sha256File(out)).toBe(await sha256File(src))
      }
      // stdout works too, byte for byte
      const viaStdout = await cli(['file-get', '--key', 'reports/q3.md'], other.env)
      expect(viaStdout.stdout).toBe(readFileSync(text, 'utf8'))
    }
    const events = await cliJson<EventJson[]>(['poll'], bob!.env)
    expect(
      events
        .filter((e) => e.type === 'file_updated')
        .map((e) => e.key)
        .sort(),
    ).toEqual(['data/big.bin', 'models/model.bin', 'reports/q3.md'])
  }, 180_000)

  it('a node offline during 50 puts catches up after its restart; a deletion replicates; --base guards writes', async () => {
    const agent = mesh()
    const alice = agent('alice')
    const bob = agent('bob')
    await start(alice)
    const bobProc = await start(bob)
    await seesAll(alice.env, ['bob'])
    await bobProc.stop('SIGTERM')

    const work = mkdtempSync(join(tmpdir(), 'clawlink-files-'))
    dirs.push(work)
    const api = alice.api()
    for (let i = 0; i < 50; i++) {
      const path = join(work, `f${i}.txt`)
      writeFileSync(path, `file number ${i}\n`)
      await api.post('/v1/files/put', { key: `notes/n${String(i).padStart(2, '0')}.txt`, path })
    }
    await start(bob)
    const caughtUp = await eventually(async () => {
      const l = await cliJson<FileJson[]>(['file-list', '--prefix', 'notes/'], bob.env)
      return l.length === 50 ? l : undefined
    }, 30_000)
    expect(caughtUp[7]).toMatchObject({ key: 'notes/n07.txt', version: 1, author: { name: 'alice' } })
    // small files are replicated eagerly: the content is here before anyone asks
    await eventually(async () => {
      const h = await cliJson<FileVersionJson[]>(['file-history', '--key', 'notes/n49.txt'], bob.env)
      return h[0]!.local ? true : undefined
    })
    expect((await cli(['file-get', '--key', 'notes/n42.txt'], bob.env)).stdout).toBe('file number 42\n')

    // deletion replicates
    expect((await cli(['file-rm', '--key', 'notes/n00.txt'], alice.env)).code).toBe(0)
    await eventually(async () => {
      const l = await cliJson<FileJson[]>(['file-list', '--prefix', 'notes/'], bob.env)
      return l.length === 49 ? true : undefined
    })
    const gone = await cli(['file-get', '--key', 'notes/n00.txt'], bob.env)
    expect(gone.code).toBe(1)
    expect(gone.stderr).toContain('was deleted in version 2')
    const all = await cliJson<FileJson[]>(['file-list', '--prefix', 'notes/n00', '--all'], bob.env)
    expect(all).toMatchObject([{ key: 'notes/n00.txt', version: 2, deleted: true }])

    // compare-and-swap
    const v2 = join(work, 'v2.txt')
    writeFileSync(v2, 'second\n')
    expect(
      (await cliJson<FileJson>(['file-put', '--key', 'notes/n01.txt', '--file', v2, '--base', '1'], bob.env))
        .version,
    ).toBe(2)
    const stale = await cli(['file-put', '--key', 'notes/n01.txt', '--file', v2, '--base', '1'], bob.env)
    expect(stale.code).toBe(1)
    expect(stale.stderr).toContain('notes/n01.txt is at version 2')
    const old = await cli(['file-get', '--key', 'notes/n01.txt', '--version', '1'], bob.env)
    expect(old.stdout).toBe('file number 1\n')
  }, 120_000)

  it('bad input gets a clear error and a non-zero exit', async () => {
    const agent = mesh()
    const alice = agent('alice')
    await start(alice)
    const work = mkdtempSync(join(tmpdir(), 'clawlink-files-'))
    dirs.push(work)
    const f = join(work, 'x.txt')
    writeFileSync(f, 'x')
    const cases: Array<[string[], number, RegExp]> = [
      [['file-put', '--key', '/abs', '--file', f], 1, /invalid key .*starts with '\/'/],
      [['file-put', '--key', 'a/../b', '--file', f], 1, /'\.\.' segment/],
      [['file-put', '--key', 'k', '--file', join(work, 'missing')], 1, /cannot read .*ENOENT/],
      [['file-put', '--key', 'k', '--file', work], 1, /not a regular file/],
      [['file-put', '--key', 'k', '--file', f, '--type', 'not a type'], 1, /invalid media type/],
      [['file-get', '--key', 'nothing'], 1, /no file nothing/],
      [['file-rm', '--key', 'nothing'], 1, /no file nothing/],
      [['file-history', '--key', 'nothing'], 1, /no file nothing/],
      [['file-put', '--file', f], 2, /--key is required/],
      [['file-get', '--key', 'k', '--json'], 2, /--json needs --output/],
    ]
    for (const [args, code, re] of cases) {
      const r = await cli(args, alice.env)
      expect(r.code, args.join(' ')).toBe(code)
      expect(r.stderr, args.join(' ')).toMatch(re)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
  })
})
