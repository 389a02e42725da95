import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BlobStore } from '../../src/protocols/files/blob-store.js'
import { FileError } from '../../src/protocols/files/errors.js'

let root: string
let dir: string
let blobs: BlobStore

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex')
const tmpFiles = () => readdirSync(join(dir, 'tmp'))
/** The two-hex-digit shard directories and the blobs in them. */
function blobFiles(): string[] {
  return readdirSync(dir)
    .filter((d) => d !== 'tmp')
    .flatMap((d) => readdirSync(join(dir, d)).map((f) => `${d}/${f}`))
}

/** Resolves to the FileError `p` rejects with; fails on anything else. */
async function fileError(p: Promise<unknown>): Promise<FileError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(FileError)
  return err as FileError
}

function source(name: string, content: Uint8Array | string): string {
  const p = join(root, name)
  writeFileSync(p, content)
  return p
}

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'clawlink-blobs-'))
  dir = join(root, 'blobs')
  blobs = new BlobStore(dir)
  await blobs.init()
})

afterEach(() => {
  rmSync(root, { recursive: true, force: true })
})

describe('BlobStore.init', () => {
  it('creates the directory and its tmp directory', () => {
    expect(readdirSync(dir)).toEqual(['tmp'])
    expect(tmpFiles()).toEqual([])
  })

  it('clears leftovers in tmp and keeps finished blobs', async () => {
    const { sha256 } = await blobs.importFile(source('a.txt', 'kept'), 1000)
    writeFileSync(join(dir, 'tmp', '123-abcdef'), 'half a transfer')
    writeFileSync(join(dir, 'tmp', 'another'), '')
    expect(tmpFiles()).toHaveLength(2)
    const again = new BlobStore(dir)
    await again.init()
    expect(tmpFiles()).toEqual([])
    expect(await again.has(sha256)).toBe(true)
    expect(readFileSync(again.path(sha256), 'utf8')).toBe('kept')
  })

  it('can be run twice on the same directory', async () => {
    await blobs.init()
    expect(readdirSync(dir)).toEqual(['tmp'])
  })
})

describe('BlobStore.path / has', () => {
  const good = sha('x')

  it('places a blob under the first two hex digits of its hash', () => {
    expect(blobs.path(good)).toBe(join(dir, good.slice(0, 2), good))
  })

  it('rejects anything that is not a lowercase hex sha256', () => {
    for (const bad of [
      '',
      'xyz',
      good.slice(0, 63),
      `${good}0`,
      good.toUpperCase(),
      `../${good.slice(3)}`,
      `${good.slice(0, 63)}g`,
      `${good.slice(0, 2)}/${good.slice(3)}`,
    ]) {
      expect(() => blobs.path(bad), bad).toThrow(FileError)
    }
    expect(() => blobs.path('nope')).toThrow(
      expect.objectContaining({ code: 'invalid', message: expect.stringMatching(/not a sha256/) }),
    )
  })

  it('has() is false for unknown or invalid hashes, without throwing', async () => {
    expect(await blobs.has(good)).toBe(false)
    expect(await blobs.has('../../etc/passwd')).toBe(false)
  })
})

describe('BlobStore.importFile', () => {
  for (const [name, content] of [
    ['a small file', Buffer.from('# Q3 report\n\nnumbers go here\n')],
    ['an empty file', Buffer.alloc(0)],
    ['a multi-MiB file', randomBytes(5 * 1024 * 1024 + 123)],
  ] as const) {
    it(`returns the sha256 and size of ${name}, with the blob at path(sha)`, async () => {
      const p = source('in.bin', content)
      const r = await blobs.importFile(p, 10 * 1024 * 1024)
      expect(r).toEqual({ sha256: sha(content), size: content.byteLength })
      expect(await blobs.has(r.sha256)).toBe(true)
      expect(readFileSync(blobs.path(r.sha256)).equals(content)).toBe(true)
      expect(blobFiles()).toEqual([`${r.sha256.slice(0, 2)}/${r.sha256}`])
      expect(tmpFiles()).toEqual([])
      // the source is left alone
      expect(readFileSync(p).equals(content)).toBe(true)
    })
  }

  it('imports the same content twice to one blob', async () => {
    const a = await blobs.importFile(source('a', 'same'), 100)
    const b = await blobs.importFile(source('b', 'same'), 100)
    expect(a).toEqual(b)
    expect(blobFiles()).toHaveLength(1)
  })

  it('accepts a file of exactly maxSize', async () => {
    const r = await blobs.importFile(source('edge', Buffer.alloc(100, 7)), 100)
    expect(r.size).toBe(100)
  })

  it('refuses a directory with a clear FileError', async () => {
    const sub = join(root, 'a-directory')
    mkdirSync(sub)
    const err = await fileError(blobs.importFile(sub, 1000))
    expect(err.code).toBe('invalid')
    expect(err.message).toContain(sub)
    expect(err.message).toMatch(/not a regular file/)
    expect(tmpFiles()).toEqual([])
  })

  it('refuses a missing file with a clear FileError', async () => {
    const missing = join(root, 'no-such-file.md')
    const err = await fileError(blobs.importFile(missing, 1000))
    expect(err.code).toBe('not_found')
    expect(err.message).toContain(missing)
    expect(err.message).toMatch(/ENOENT/)
  })

  it('refuses a file over maxSize with too_large, leaving nothing behind', async () => {
    const err = await fileError(blobs.importFile(source('big', Buffer.alloc(101)), 100))
    expect(err.code).toBe('too_large')
    expect(err.message).toMatch(/101 bytes; the limit is 100/)
    expect(tmpFiles()).toEqual([])
    expect(blobFiles()).toEqual([])
    expect(await blobs.has(sha(Buffer.alloc(101)))).toBe(false)
  })
})

describe('BlobStore.writer', () => {
  const content = randomBytes(3000)
  const expected = { sha256: sha(content), size: content.byteLength }

  async function writeAll(chunks: Uint8Array[], exp = expected) {
    const w = await blobs.writer(exp)
    for (const c of chunks) await w.write(c)
    return w
  }

  it('finishes content matching the expected hash and size, written in chunks', async () => {
    const w = await writeAll([
      content.subarray(0, 1000),
      content.subarray(1000, 1000),
      content.subarray(1000),
    ])
    expect(w.written).toBe(3000)
    expect(tmpFiles()).toHaveLength(1)
    expect(await blobs.has(expected.sha256)).toBe(false)
    await w.finish()
    expect(w.sha256()).toBe(expected.sha256)
    expect(await blobs.has(expected.sha256)).toBe(true)
    expect(readFileSync(blobs.path(expected.sha256)).equals(content)).toBe(true)
    expect(tmpFiles()).toEqual([])
  })

  it('reports no hash before it has finished', async () => {
    const w = await blobs.writer(expected)
    expect(() => w.sha256()).toThrow(/not finished/)
    await w.abort()
  })

  it('rejects content of the right size that hashes differently', async () => {
    const wrong = Buffer.from(content)
    wrong[1500]! ^= 0xff
    const w = await writeAll([wrong])
    const err = await fileError(w.finish())
    expect(err.code).toBe('invalid')
    expect(err.message).toMatch(/does not match/)
    expect(await blobs.has(expected.sha256)).toBe(false)
    expect(await blobs.has(sha(wrong))).toBe(false)
    expect(blobFiles()).toEqual([])
    expect(tmpFiles()).toEqual([])
  })

  it('rejects truncated content', async () => {
    const w = await writeAll([content.subarray(0, 2999)])
    const err = await fileError(w.finish())
    expect(err.message).toMatch(/got 2999 bytes/)
    expect(blobFiles()).toEqual([])
    expect(tmpFiles()).toEqual([])
  })

  it('rejects content beyond the expected size as soon as it is written', async () => {
    const w = await writeAll([content])
    const err = await fileError(w.write(new Uint8Array([0])))
    expect(err.code).toBe('too_large')
    // whether the caller then finishes or aborts, nothing is left
    await fileError(w.finish())
    expect(await blobs.has(expected.sha256)).toBe(false)
    expect(blobFiles()).toEqual([])
    expect(tmpFiles()).toEqual([])
  })

  it('rejects an oversized chunk, and abort cleans up after it', async () => {
    const w = await writeAll([content.subarray(0, 2000)])
    const err = await fileError(w.write(content.subarray(0, 1001)))
    expect(err.code).toBe('too_large')
    await w.abort()
    expect(blobFiles()).toEqual([])
    expect(tmpFiles()).toEqual([])
  })

  it('leaves nothing after abort', async () => {
    const w = await writeAll([content.subarray(0, 1000)])
    expect(tmpFiles()).toHaveLength(1)
    await w.abort()
    expect(tmpFiles()).toEqual([])
    expect(blobFiles()).toEqual([])
    // a second abort is harmless
    await w.abort()
  })

  it('without an expected hash, stores the content under its own hash, up to maxSize', async () => {
    const w = await blobs.writer(undefined, 3000)
    await w.write(content)
    await w.finish()
    expect(w.sha256()).toBe(expected.sha256)
    expect(await blobs.has(expected.sha256)).toBe(true)

    const over = await blobs.writer(undefined, 10)
    await over.write(new Uint8Array(10))
    expect((await fileError(over.write(new Uint8Array(1)))).code).toBe('too_large')
    await over.abort()
    expect(tmpFiles()).toEqual([])
  })

  it('keeps writers apart: each has its own temp file', async () => {
    const a = await blobs.writer()
    const b = await blobs.writer()
    await a.write(Buffer.from('a'))
    await b.write(Buffer.from('b'))
    expect(tmpFiles()).toHaveLength(2)
    await a.finish()
    await b.finish()
    expect(new Set([a.sha256(), b.sha256()])).toEqual(new Set([sha('a'), sha('b')]))
    expect(tmpFiles()).toEqual([])
  })
})

describe('BlobStore.gc', () => {
  it('removes blobs not referenced, keeps the referenced ones and the tmp dir', async () => {
    const keep = await blobs.importFile(source('keep', 'keep me'), 100)
    const drop1 = await blobs.importFile(source('d1', 'drop one'), 100)
    const drop2 = await blobs.importFile(source('d2', 'drop two'), 100)
    const inFlight = await blobs.writer()
    await inFlight.write(Buffer.from('partial'))
    // a stray file that is not a blob, and a directory that is not a shard
    writeFileSync(join(dir, keep.sha256.slice(0, 2), 'notes.txt'), 'x')
    mkdirSync(join(dir, 'other'))
    writeFileSync(join(dir, 'other', drop1.sha256), 'not in a shard')

    // just imported: kept for the grace period, since their entries may not be written yet
    expect(await blobs.gc(new Set([keep.sha256]))).toBe(0)
    expect(await blobs.has(drop1.sha256)).toBe(true)
    expect(await blobs.gc(new Set([keep.sha256, sha('not stored')]), 0)).toBe(2)
    expect(await blobs.has(keep.sha256)).toBe(true)
    expect(await blobs.has(drop1.sha256)).toBe(false)
    expect(await blobs.has(drop2.sha256)).toBe(false)
    expect(existsSync(join(dir, 'tmp'))).toBe(true)
    expect(tmpFiles()).toHaveLength(1)
    expect(existsSync(join(dir, keep.sha256.slice(0, 2), 'notes.txt'))).toBe(true)
    expect(existsSync(join(dir, 'other', drop1.sha256))).toBe(true)
    // the writer still finishes
    await inFlight.finish()
    expect(await blobs.has(sha('partial'))).toBe(true)

    // nothing left to collect; an empty set collects everything
    expect(await blobs.gc(new Set([keep.sha256, sha('partial')]), 0)).toBe(0)
    expect(await blobs.gc(new Set(), 0)).toBe(2)
    expect(await blobs.has(keep.sha256)).toBe(false)
    expect(existsSync(join(dir, 'tmp'))).toBe(true)
  })

  it('collects nothing in an empty store', async () => {
    expect(await blobs.gc(new Set())).toBe(0)
    expect(readdirSync(dir)).toEqual(['tmp'])
  })
})
