// The blob protocol's ends over an in-memory stream pair: content arrives intact through backpressure,
// a slow transfer that keeps moving is never cut, and a stalled one is, after the stall timeout.
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Stream } from '@libp2p/interface'
import { lpStream, streamPair } from '@libp2p/utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BlobStore } from '../../src/protocols/files/blob-store.js'
import { BlobStalledError, fetchBlob, serveBlob } from '../../src/protocols/files/blob-transfer.js'
import { BlobHeader, BlobRequest } from '../../src/protocols/files/pb/files.js'

let root: string
let blobs: BlobStore
const streams: Stream[] = []

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'clawlink-blob-transfer-'))
  blobs = new BlobStore(join(root, 'blobs'))
  await blobs.init()
})

afterEach(() => {
  for (const s of streams.splice(0)) s.abort(new Error('test over'))
  rmSync(root, { recursive: true, force: true })
})

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

function varint(n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  out.push(n)
  return Uint8Array.from(out)
}

/** A hand-made server: answers each range request through `send`, which may dribble or stop. */
async function fakeServer(
  stream: Stream,
  content: Uint8Array,
  send: (frame: Uint8Array) => Promise<void>,
): Promise<void> {
  const lp = lpStream(stream)
  await lp.read()
  await lp.write(BlobHeader.encode({ found: true, size: content.byteLength }))
  for (;;) {
    const req = BlobRequest.decode(await lp.read())
    const offset = req.offset
    const data = content.subarray(offset, offset + req.length)
    await send(Uint8Array.from([...varint(data.byteLength), ...data]))
  }
}

async function pair(): Promise<[Stream, Stream]> {
  const [a, b] = await streamPair({ capacity: 4 })
  streams.push(a, b)
  return [a, b]
}

describe('blob transfer', () => {
  it('a 3.5 MiB blob served in ranges arrives byte-identical', async () => {
    const content = randomBytes(3.5 * 1024 * 1024)
    const { sha256 } = await blobs.importFile(await writeTemp(content), 16 * 1024 * 1024)
    const [client, server] = await pair()
    void serveBlob(server, blobs, async () => true).catch(() => {})
    const writer = await blobs.writer({ sha256, size: content.byteLength })
    const seen: number[] = []
    expect(await fetchBlob(client, sha256, content.byteLength, writer, (n) => seen.push(n))).toBe(true)
    await writer.finish()
    expect(sha(readFileSync(blobs.path(sha256)))).toBe(sha256)
    expect(seen.at(-1)).toBe(content.byteLength)
  })

  it('a transfer that keeps moving is not cut, though it lasts many stall timeouts', async () => {
    const content = randomBytes(200 * 1024)
    const [client, server] = await pair()
    // 4 KiB every 25 ms: about 2 s in all, against a stall timeout of 300 ms
    void fakeServer(server, content, async (frame) => {
      for (let i = 0; i < frame.byteLength; i += 4096) {
        server.send(frame.subarray(i, i + 4096))
        await new Promise((r) => setTimeout(r, 25))
      }
    }).catch(() => {})
    const writer = await blobs.writer({ sha256: sha(content), size: content.byteLength })
    const started = Date.now()
    expect(await fetchBlob(client, sha(content), content.byteLength, writer, () => {}, 300)).toBe(true)
    await writer.finish()
    expect(Date.now() - started).toBeGreaterThan(1000)
  })

  it('a transfer that stops is cut after the stall timeout, saying how far it got', async () => {
    const content = randomBytes(200 * 1024)
    const [client, server] = await pair()
    let sent = false
    // half of the first range, then silence (the connection stays open)
    void fakeServer(server, content, async (frame) => {
      if (!sent) server.send(frame.subarray(0, frame.byteLength / 2))
      sent = true
      await new Promise(() => {})
    }).catch(() => {})
    const writer = await blobs.writer({ sha256: sha(content), size: content.byteLength })
    const started = Date.now()
    const err = await fetchBlob(client, sha(content), content.byteLength, writer, () => {}, 300).catch(
      (e) => e,
    )
    await writer.abort()
    expect(err).toBeInstanceOf(BlobStalledError)
    expect(err.message).toMatch(/^no data for 0.3 s \(0 of 204800 bytes received\)$/)
    expect(Date.now() - started).toBeLessThan(3000)
  })
})

async function writeTemp(content: Uint8Array): Promise<string> {
  const { writeFile } = await import('node:fs/promises')
  const path = join(root, 'src.bin')
  await writeFile(path, content)
  return path
}
