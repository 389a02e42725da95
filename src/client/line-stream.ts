// Reading a streaming control API response (NDJSON) as it arrives: `clawlink watch`'s side of
// GET /v1/watch. Plain HTTP/1.1 over node:net, like client.ts, decoding chunked transfer incrementally.
import { connect } from 'node:net'
import { StringDecoder } from 'node:string_decoder'
import type { ApiErrorJson } from '../api/types.js'
import { ClientError } from './errors.js'

/** A line longer than this is a broken stream, not an event. */
const MAX_LINE = 8 * 1024 * 1024
const MAX_HEAD = 16 * 1024

export interface LineStreamOptions {
  socket: string
  path: string
  /** how to name the node in errors */
  label: string
  onValue(value: unknown): void
  signal?: AbortSignal
}

/**
 * Resolves when the stream ends (the node closed it: it stopped, or it ended a slow reader's stream)
 * or `signal` aborts; rejects with a ClientError if the node cannot be reached or refuses the request.
 */
export function readLineStream(opts: LineStreamOptions): Promise<void> {
  const head = `GET ${opts.path} HTTP/1.1\r\nHost: clawlink\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`
  return new Promise<void>((resolve, reject) => {
    const socket = connect(opts.socket)
    let settled = false
    const settle = (err?: Error) => {
      if (settled) return
      settled = true
      opts.signal?.removeEventListener('abort', onAbort)
      socket.destroy()
      if (err != null) reject(err)
      else resolve()
    }
    const onAbort = () => settle()
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    if (opts.signal?.aborted === true) return settle()

    let buf = Buffer.alloc(0)
    let status = 0
    let chunked = false
    /** bytes left in the current chunk; -1 while reading a chunk-size line */
    let chunkLeft = -1
    let text = ''
    let errorBody = ''
    // a character split between packets or chunks must be joined, not decoded as two broken halves
    const decoder = new StringDecoder('utf8')

    const lines = (data: string) => {
      // only new data is searched for line ends: a long line is not rescanned (and copied) per packet
      let start = 0
      for (let nl = data.indexOf('\n'); nl >= 0 && !settled; nl = data.indexOf('\n', start)) {
        const line = (text + data.slice(start, nl)).trim()
        text = ''
        start = nl + 1
        if (line === '') continue
        let value: unknown
        try {
          value = JSON.parse(line)
        } catch {
          return settle(new ClientError(`the node ${opts.label} sent a malformed event line`))
        }
        opts.onValue(value)
      }
      text += data.slice(start)
      if (text.length > MAX_LINE)
        settle(new ClientError(`the node ${opts.label} sent an oversized event line`))
    }

    const body = (data: Buffer) => {
      if (status >= 400) {
        // an error answer is one small JSON object; more is not worth keeping
        if (errorBody.length < MAX_HEAD) errorBody += decoder.write(data)
        return
      }
      if (!chunked) return lines(decoder.write(data))
      buf = Buffer.concat([buf, data])
      while (buf.length > 0 && !settled) {
        if (chunkLeft < 0) {
          const eol = buf.indexOf('\r\n')
          if (eol < 0) return
          const size = Number.parseInt(buf.subarray(0, eol).toString('latin1'), 16)
          if (!Number.isInteger(size) || size < 0 || size > MAX_LINE)
            return settle(new ClientError(`the node ${opts.label} sent a malformed stream`))
          buf = buf.subarray(eol + 2)
          if (size === 0) return settle()
          chunkLeft = size
        }
        const take = Math.min(chunkLeft, buf.length)
        lines(decoder.write(buf.subarray(0, take)))
        buf = buf.subarray(take)
        chunkLeft -= take
        if (chunkLeft === 0) {
          if (buf.length < 2) {
            // the CRLF after a chunk may arrive in the next packet
            chunkLeft = -2
            return
          }
          buf = buf.subarray(2)
          chunkLeft = -1
        }
      }
    }

    socket.on('connect', () => socket.write(head))
    socket.on('data', (data: Buffer) => {
      if (settled) return
      if (status === 0) {
        buf = Buffer.concat([buf, data])
        const split = buf.indexOf('\r\n\r\n')
        if (split < 0) {
          if (buf.length > MAX_HEAD) settle(new ClientError(`the node ${opts.label} sent a malformed answer`))
          return
        }
        const headLines = buf.subarray(0, split).toString('latin1').split('\r\n')
        status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(headLines[0] ?? '')?.[1])
        if (!Number.isInteger(status) || status === 0)
          return settle(new ClientError(`the node ${opts.label} sent a malformed answer`))
        chunked = headLines.some((h) => /^transfer-encoding:\s*chunked/i.test(h))
        const rest = buf.subarray(split + 4)
        buf = Buffer.alloc(0)
        if (rest.length > 0) body(rest)
        return
      }
      if (chunkLeft === -2) {
        // finish the CRLF that ended the previous chunk
        buf = Buffer.concat([buf, data])
        if (buf.length < 2) return
        buf = buf.subarray(2)
        chunkLeft = -1
        return body(Buffer.alloc(0))
      }
      body(data)
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        settle(new ClientError(`the node ${opts.label} is not running (its control socket does not answer)`))
      } else if (status !== 0 && err.code === 'ECONNRESET') {
        settle()
      } else {
        settle(new ClientError(`cannot talk to the node ${opts.label}: ${err.message}`))
      }
    })
    socket.on('close', () => {
      if (status >= 400) {
        let message = `HTTP ${status}`
        try {
          message = (JSON.parse(errorBody) as ApiErrorJson).error?.message ?? message
        } catch {}
        return settle(new ClientError(message))
      }
      settle()
    })
  })
}
