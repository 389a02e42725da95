// The CLI's side of the control API: JSON over HTTP on the node's Unix socket.
import { connect } from 'node:net'
import { dirname } from 'node:path'
import type { ApiErrorJson } from '../api/types.js'
import { checkOwnSocket, checkPrivateDir } from '../home/private-dir.js'
import { ClientError } from './errors.js'

/** The response ended before it was complete: the peer closed, not a protocol violation. */
class IncompleteResponse extends Error {
  static override readonly name = 'IncompleteResponse'
  override name = 'IncompleteResponse'
}

export interface RequestOptions {
  /** Gives up after this long (ms); long polls pass their wait plus a margin. */
  timeout?: number
  /** Aborting closes the connection: the node sees a client that left (a long poll leaves its events unseen). */
  signal?: AbortSignal
}

export class ControlClient {
  constructor(
    readonly socket: string,
    /** How to name the node in errors. */
    readonly label: string,
  ) {}

  get<T>(path: string, opts?: RequestOptions): Promise<T> {
    return this.call<T>('GET', path, undefined, opts)
  }

  post<T>(path: string, body: unknown, opts?: RequestOptions): Promise<T> {
    return this.call<T>('POST', path, body, opts)
  }

  /**
   * One request on a fresh connection. Plain HTTP/1.1 over node:net rather than node:http: importing
   * node:http costs ~70 ms, a third of a CLI call's budget.
   */
  call<T>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
    const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body))
    const head =
      `${method} ${path} HTTP/1.1\r\nHost: clawlink\r\nConnection: close\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n`
    try {
      // a socket in a dir another user controls, or one they own, may be theirs: never send it anything
      checkPrivateDir(dirname(this.socket), true)
      checkOwnSocket(this.socket)
    } catch (err) {
      return Promise.reject(new ClientError((err as Error).message))
    }
    const wentAway = () =>
      new ClientError(
        `the node ${this.label} went away while answering (it stopped or crashed); is it still running?`,
      )
    return new Promise<T>((resolve, reject) => {
      const socket = connect(this.socket)
      const chunks: Buffer[] = []
      let settled = false
      const fail = (err: Error) => {
        if (settled) return
        settled = true
        socket.destroy()
        reject(err)
      }
      const signal = opts.signal
      if (signal != null) {
        const onAbort = () => fail(new ClientError('the request was canceled'))
        if (signal.aborted) onAbort()
        signal.addEventListener('abort', onAbort, { once: true })
        socket.on('close', () => signal.removeEventListener('abort', onAbort))
      }
      socket.setTimeout(opts.timeout ?? 30_000, () =>
        fail(new ClientError(`the node ${this.label} did not answer in time`)),
      )
      // write, not end: a half-closed socket would look like a client that left, ending long polls
      socket.on('connect', () => socket.write(Buffer.concat([Buffer.from(head), payload])))
      socket.on('data', (c: Buffer) => chunks.push(c))
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
          fail(new ClientError(`the node ${this.label} is not running (its control socket does not answer)`))
        } else if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
          fail(wentAway())
        } else {
          fail(new ClientError(`cannot talk to the node ${this.label}: ${err.message}`))
        }
      })
      socket.on('close', () => {
        if (settled) return
        try {
          const { status, body: text } = parseResponse(Buffer.concat(chunks))
          const json = text === '' ? null : (JSON.parse(text) as unknown)
          settled = true
          if (status >= 400) {
            reject(new ClientError((json as ApiErrorJson | null)?.error?.message ?? `HTTP ${status}`))
          } else {
            resolve(json as T)
          }
        } catch (err) {
          fail(
            err instanceof IncompleteResponse
              ? wentAway()
              : new ClientError(`the node ${this.label} sent a malformed answer`),
          )
        }
      })
    })
  }
}

/** Splits a complete HTTP/1.1 response (Content-Length or chunked body) into status and body text. */
export function parseResponse(raw: Buffer): { status: number; body: string } {
  const split = raw.indexOf('\r\n\r\n')
  if (split < 0) throw new IncompleteResponse('incomplete response')
  const head = raw.subarray(0, split).toString('latin1').split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1])
  if (!Number.isInteger(status)) throw new Error('bad status line')
  let body = raw.subarray(split + 4)
  const chunked = head.some((h) => /^transfer-encoding:\s*chunked/i.test(h))
  if (chunked) {
    const parts: Buffer[] = []
    let at = 0
    for (;;) {
      const eol = body.indexOf('\r\n', at)
      if (eol < 0) throw new IncompleteResponse('truncated chunk')
      const size = Number.parseInt(body.subarray(at, eol).toString('latin1'), 16)
      if (!Number.isInteger(size) || size < 0) throw new Error('bad chunk size')
      if (size === 0) break
      if (body.length < eol + 2 + size + 2) throw new IncompleteResponse('truncated chunk')
      parts.push(body.subarray(eol + 2, eol + 2 + size))
      at = eol + 2 + size + 2
    }
    body = Buffer.concat(parts)
  } else {
    const length = head.map((h) => /^content-length:\s*(\d+)/i.exec(h)?.[1]).find((v) => v != null)
    if (length != null) {
      if (body.length < Number(length)) throw new IncompleteResponse('truncated body')
      body = body.subarray(0, Number(length))
    }
  }
  return { status, body: body.toString('utf8') }
}
