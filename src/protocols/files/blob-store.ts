// Content-addressed blobs on disk: <dir>/<first two hex digits>/<sha256>. A blob appears only whole and
// verified: written to a temp file, hashed while written, synced, then renamed into place.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { FileError } from './errors.js'

const HEX64 = /^[0-9a-f]{64}$/

export interface BlobWriter {
  write(chunk: Uint8Array): Promise<void>
  /** Verifies size and hash and moves the blob into place; throws (and removes it) on mismatch. */
  finish(): Promise<void>
  abort(): Promise<void>
  readonly written: number
}

export class BlobStore {
  readonly dir: string
  private readonly tmp: string

  constructor(dir: string) {
    this.dir = dir
    this.tmp = join(dir, 'tmp')
  }

  async init(): Promise<void> {
    await mkdir(this.tmp, { recursive: true, mode: 0o700 })
    // leftovers of transfers a crash interrupted
    for (const f of await readdir(this.tmp)) await rm(join(this.tmp, f), { force: true })
  }

  path(sha256: string): string {
    if (!HEX64.test(sha256)) throw new FileError('invalid', `not a sha256: ${sha256.slice(0, 80)}`)
    return join(this.dir, sha256.slice(0, 2), sha256)
  }

  async has(sha256: string): Promise<boolean> {
    try {
      await stat(this.path(sha256))
      return true
    } catch {
      return false
    }
  }

  /** A writer for content expected to hash to `sha256` (when known) and be `size` bytes. */
  async writer(
    expected?: { sha256: string; size: number },
    maxSize = Number.MAX_SAFE_INTEGER,
  ): Promise<BlobWriter & { sha256(): string }> {
    const tmpPath = join(this.tmp, `${Date.now()}-${randomBytes(6).toString('hex')}`)
    const fh = await open(tmpPath, 'wx', 0o600)
    const hash = createHash('sha256')
    let written = 0
    let digest: string | undefined
    const store = this
    return {
      get written() {
        return written
      },
      async write(chunk) {
        written += chunk.byteLength
        const limit = expected?.size ?? maxSize
        if (written > limit) throw new FileError('too_large', `more than ${limit} bytes`)
        hash.update(chunk)
        let off = 0
        while (off < chunk.byteLength)
          off += (await fh.write(chunk, off, chunk.byteLength - off)).bytesWritten
      },
      async finish() {
        try {
          digest = hash.digest('hex')
          if (expected != null && (written !== expected.size || digest !== expected.sha256)) {
            throw new FileError(
              'invalid',
              `content does not match: got ${written} bytes hashing to ${digest.slice(0, 12)}…, expected ${expected.size} bytes hashing to ${expected.sha256.slice(0, 12)}…`,
            )
          }
          await fh.sync()
          await fh.close()
          const final = store.path(digest)
          await mkdir(join(store.dir, digest.slice(0, 2)), { recursive: true, mode: 0o700 })
          await rename(tmpPath, final)
        } catch (err) {
          await fh.close().catch(() => {})
          await rm(tmpPath, { force: true })
          throw err
        }
      },
      async abort() {
        await fh.close().catch(() => {})
        await rm(tmpPath, { force: true })
      },
      sha256() {
        if (digest == null) throw new Error('not finished')
        return digest
      },
    }
  }

  /** Copies a local file in, hashing as it goes; refuses files over `maxSize`. */
  async importFile(path: string, maxSize: number): Promise<{ sha256: string; size: number }> {
    let size: number
    try {
      const s = await stat(path)
      if (!s.isFile()) throw new FileError('invalid', `${path} is not a regular file`)
      size = s.size
    } catch (err) {
      if (err instanceof FileError) throw err
      throw new FileError(
        'not_found',
        `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      )
    }
    if (size > maxSize) throw new FileError('too_large', `${path} is ${size} bytes; the limit is ${maxSize}`)
    const w = await this.writer(undefined, maxSize)
    try {
      for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }))
        await w.write(chunk as Buffer)
      await w.finish()
    } catch (err) {
      await w.abort()
      throw err
    }
    return { sha256: w.sha256(), size: w.written }
  }

  /**
   * Removes blobs no retained entry references. A blob younger than `graceMs` is kept: it may have just
   * been imported for a write whose entry is not stored yet.
   */
  async gc(referenced: Set<string>, graceMs = 10 * 60_000, now = Date.now()): Promise<number> {
    let removed = 0
    for (const sub of await readdir(this.dir)) {
      if (sub === 'tmp' || sub.length !== 2) continue
      for (const f of await readdir(join(this.dir, sub))) {
        if (HEX64.test(f) && !referenced.has(f)) {
          const { mtimeMs } = await stat(join(this.dir, sub, f)).catch(() => ({ mtimeMs: now }))
          if (now - mtimeMs < graceMs) continue
          await rm(join(this.dir, sub, f), { force: true })
          removed++
        }
      }
    }
    return removed
  }
}
