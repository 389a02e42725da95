// The blob protocol's two ends: serving ranges of a stored blob, and pulling a blob range by range.
// Timeouts are progress-based: a slow transfer that keeps moving is never cut, a stalled one is. The
// fetcher sizes what it keeps requested to about BLOB_QUEUE_TARGET of the rate it measures, so a slow
// path does not hold seconds of blob data queued ahead of the connection's pings and other protocols.
import { open } from 'node:fs/promises'
import type { Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { BlobStore, BlobWriter } from './blob-store.js'
import {
  BLOB_IDLE_TIMEOUT,
  BLOB_MIN_RANGE,
  BLOB_QUEUE_TARGET,
  BLOB_STALL_TIMEOUT,
  BLOB_WINDOW,
  CHUNK_SIZE,
  SYNC_TIMEOUT,
} from './constants.js'
import { FileError } from './errors.js'
import { BlobHeader, BlobRequest } from './pb/files.js'

/** The fetcher's rate is measured over about this many recent ms (the average since the start lags). */
const RATE_WINDOW = 1_000

/** A transfer that stopped moving: no byte from the peer for BLOB_STALL_TIMEOUT. */
export class BlobStalledError extends Error {
  static override readonly name = 'BlobStalledError'
  override name = 'BlobStalledError'
}

/** Serves one blob request stream. `allowed` says whether the blob may be served (a retained entry's). */
export async function serveBlob(
  stream: Stream,
  blobs: BlobStore,
  allowed: (sha256: string) => Promise<boolean>,
): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: 256 })
  const first = BlobRequest.decode(await lp.read({ signal: AbortSignal.timeout(SYNC_TIMEOUT) }))
  const sha = Buffer.from(first.sha256).toString('hex')
  if (first.sha256.length !== 32 || !(await allowed(sha))) {
    await lp.write(BlobHeader.encode({ found: false, size: 0 }))
    await stream.close()
    return
  }
  const file = await open(blobs.path(sha), 'r')
  try {
    const { size } = await file.stat()
    await lp.write(BlobHeader.encode({ found: true, size }))
    for (;;) {
      let req: BlobRequest
      try {
        req = BlobRequest.decode(await lp.read({ signal: AbortSignal.timeout(BLOB_IDLE_TIMEOUT) }))
      } catch (err) {
        if ((err as Error).name === 'UnexpectedEOFError') break
        throw err
      }
      const offset = req.offset
      if (!Number.isSafeInteger(offset) || offset > size)
        throw new FileError('invalid', 'range outside the blob')
      const length = Math.min(req.length, CHUNK_SIZE, size - offset)
      // a fresh buffer per range: the stream keeps a reference to what it is given until it is sent,
      // which on a slow link is after the next range is read (a shared buffer corrupted the content)
      const buf = Buffer.allocUnsafe(length)
      const { bytesRead } = await file.read(buf, 0, length, offset)
      // the fetcher sizes ranges to a fraction of a second of its rate: one that cannot leave in this
      // time belongs to a peer that stopped reading
      await lp.write(buf.subarray(0, bytesRead), { signal: AbortSignal.timeout(BLOB_IDLE_TIMEOUT) })
    }
    await stream.close()
  } finally {
    await file.close().catch(() => {})
  }
}

/** Aborts when no byte has arrived on `stream` for `limit` ms. */
function stallWatch(stream: Stream, limit: number, describe: () => string) {
  const controller = new AbortController()
  let last = Date.now()
  const onMessage = () => {
    last = Date.now()
  }
  stream.addEventListener('message', onMessage)
  const timer = setInterval(
    () => {
      if (Date.now() - last > limit)
        controller.abort(new BlobStalledError(`no data for ${limit / 1000} s (${describe()})`))
    },
    Math.min(1000, limit / 4),
  )
  return {
    signal: controller.signal,
    stop() {
      clearInterval(timer)
      stream.removeEventListener('message', onMessage)
    },
  }
}

/**
 * Pulls a blob of `size` bytes over an open blob stream into `writer`; false if the peer does not have
 * it. Throws FileError for content that does not match, BlobStalledError for a transfer that stopped.
 */
export async function fetchBlob(
  stream: Stream,
  sha256: string,
  size: number,
  writer: BlobWriter,
  onProgress: (received: number) => void,
  stallTimeout = BLOB_STALL_TIMEOUT,
): Promise<boolean> {
  const maxInFlight = BLOB_WINDOW * CHUNK_SIZE
  const lp = lpStream(stream, {
    maxDataLength: CHUNK_SIZE,
    maxBufferSize: maxInFlight + CHUNK_SIZE + 64 * 1024,
  })
  const hash = Uint8Array.from(Buffer.from(sha256, 'hex'))
  const watch = stallWatch(stream, stallTimeout, () => `${writer.written} of ${size} bytes received`)
  try {
    await lp.write(BlobRequest.encode({ sha256: hash, offset: 0, length: 0 }))
    const header = BlobHeader.decode(
      await lp.read({ signal: AbortSignal.any([watch.signal, AbortSignal.timeout(SYNC_TIMEOUT)]) }),
    )
    if (!header.found) return false
    if (header.size !== size)
      throw new FileError('invalid', `peer offers ${header.size} bytes, the entry says ${size}`)
    const started = Date.now()
    // (time, bytes received) over the last RATE_WINDOW ms or so, for the recent rate
    const samples: Array<[number, number]> = [[started, 0]]
    const pending: number[] = [] // lengths of the ranges asked for, in order
    let requested = 0
    let budget = BLOB_MIN_RANGE * 2
    const ask = async () => {
      const range = Math.min(CHUNK_SIZE, Math.max(BLOB_MIN_RANGE, Math.floor(budget / 4)))
      while (requested < size && requested - writer.written < budget) {
        const length = Math.min(range, size - requested)
        await lp.write(BlobRequest.encode({ sha256: hash, offset: requested, length }))
        requested += length
        pending.push(length)
      }
    }
    await ask()
    while (writer.written < size) {
      const frame = await lp.read({ signal: watch.signal })
      const expected = pending.shift() ?? 0
      if (frame.byteLength !== expected)
        throw new FileError(
          'invalid',
          `truncated transfer: a range of ${frame.byteLength} bytes, expected ${expected}`,
        )
      await writer.write(frame.subarray())
      onProgress(writer.written)
      // keep about BLOB_QUEUE_TARGET of the recent rate requested (at least two small ranges)
      const now = Date.now()
      samples.push([now, writer.written])
      while (samples.length > 2 && now - samples[1]![0] >= RATE_WINDOW) samples.shift()
      const [t0, w0] = samples[0]!
      const rate = (writer.written - w0) / Math.max(1, now - t0)
      budget = Math.min(maxInFlight, Math.max(BLOB_MIN_RANGE * 2, rate * BLOB_QUEUE_TARGET))
      await ask()
    }
    return true
  } catch (err) {
    if (watch.signal.aborted) throw watch.signal.reason
    throw err
  } finally {
    watch.stop()
  }
}
