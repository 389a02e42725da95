// The CLI's and MCP server's side of the control API: JSON over HTTP/1.1 on the node's Unix socket.
// A CLI call uses one connection and closes it; a long-lived client may keep a few open (keepAlive).
import { dirname } from 'node:path'
import type { ApiErrorJson } from '../api/types.js'
import { checkOwnSocket, checkPrivateDir } from '../home/private-dir.js'
import { ConnectionPool, type Lease } from './connection-pool.js'
import { ControlConnection, ExchangeError } from './control-connection.js'
import { ClientError, NodeAnswerError } from './errors.js'
import type { ParsedResponse } from './response-parser.js'

export { parseResponse } from './response-parser.js'

export interface RequestOptions {
  /** Gives up after this long (ms) without a byte from the node; long polls pass their wait plus a margin. */
  timeout?: number
  /** Aborting closes the connection: the node sees a client that left (a long poll leaves its events unseen). */
  signal?: AbortSignal
}

export interface ControlClientOptions {
  /** Keeps connections open between requests (HTTP/1.1 keep-alive) for a process that makes many calls. */
  keepAlive?: boolean
  /** With keepAlive: persistent connections at most; a request beyond them gets a connection of its own. */
  maxConnections?: number
  /** With keepAlive: an idle connection closes after this long (ms), sooner if the node says so. */
  idleTimeout?: number
  /** The largest answer body read (bytes); a larger one is refused. */
  maxResponseBytes?: number
}

const DEFAULT_TIMEOUT = 30_000
/** V8 cannot make a string much longer than 512 MiB: a larger JSON answer could not be read anyway. */
const MAX_RESPONSE = 512 * 1024 * 1024

export class ControlClient {
  private readonly pool?: ConnectionPool
  private readonly maxResponse: number

  constructor(
    readonly socket: string,
    /** How to name the node in errors. */
    readonly label: string,
    opts: ControlClientOptions = {},
  ) {
    this.maxResponse = opts.maxResponseBytes ?? MAX_RESPONSE
    if (opts.keepAlive === true) {
      this.pool = new ConnectionPool(socket, {
        max: Math.max(1, opts.maxConnections ?? 4),
        idleMs: opts.idleTimeout ?? 4_000,
        check: () => this.check(),
      })
    }
  }

  get<T>(path: string, opts?: RequestOptions): Promise<T> {
    return this.call<T>('GET', path, undefined, opts)
  }

  post<T>(path: string, body: unknown, opts?: RequestOptions): Promise<T> {
    return this.call<T>('POST', path, body, opts)
  }

  async call<T>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
    if (opts.signal?.aborted === true) throw new ClientError('the request was canceled')
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const bytes = (close: boolean) =>
      Buffer.concat([
        Buffer.from(
          `${method} ${path} HTTP/1.1\r\nHost: clawlink\r\n${close ? 'Connection: close\r\n' : ''}` +
            `Content-Type: application/json\r\nContent-Length: ${payload?.length ?? 0}\r\n\r\n`,
        ),
        ...(payload != null ? [payload] : []),
      ])
    const exchange = {
      timeout: opts.timeout ?? DEFAULT_TIMEOUT,
      signal: opts.signal,
      maxResponse: this.maxResponse,
    }
    if (this.pool == null) {
      this.guardedCheck()
      // the node closes the connection after its answer (a failed exchange destroys it)
      const conn = new ControlConnection(this.socket)
      try {
        const res = await conn.exchange(bytes(true), exchange)
        // a node that kept it open anyway (it was asked to close) does not get to hold this process
        if (conn.usable) conn.destroy()
        return this.present<T>(res)
      } catch (err) {
        throw this.clientError(err)
      }
    }
    let lease: Lease | undefined
    for (let attempt = 0; ; attempt++) {
      try {
        lease = this.pool.take(attempt > 0)
      } catch (err) {
        throw new ClientError((err as Error).message)
      }
      try {
        const res = await lease.conn.exchange(bytes(!lease.persistent), exchange)
        this.pool.give(lease, res.idleHintMs)
        return this.present<T>(res)
      } catch (err) {
        // the node closed a kept connection between requests: try once more on a new one, unless the
        // node may have acted on the request (a POST that was written, e.g. a delegation)
        const e = err as ExchangeError
        const retry =
          attempt === 0 &&
          lease.reused &&
          e instanceof ExchangeError &&
          e.kind === 'went-away' &&
          !e.answered &&
          (method === 'GET' || !e.written)
        if (!retry) throw this.clientError(err)
      }
    }
  }

  /** Connections this client has opened (keepAlive; for tests and benchmarks). */
  get connectionsOpened(): number {
    return this.pool?.opened ?? 0
  }

  /** Closes every kept connection (keepAlive); the client opens new ones if used again. */
  close(): void {
    this.pool?.close()
  }

  /** A socket in a dir another user controls, or one they own, may be theirs: never send it anything. */
  private check(): void {
    checkPrivateDir(dirname(this.socket), true)
    checkOwnSocket(this.socket)
  }

  private guardedCheck(): void {
    try {
      this.check()
    } catch (err) {
      throw new ClientError((err as Error).message)
    }
  }

  private present<T>(res: ParsedResponse): T {
    let json: unknown
    try {
      json = res.body.length === 0 ? null : JSON.parse(res.body.toString('utf8'))
    } catch {
      throw new ClientError(`the node ${this.label} sent a malformed answer`)
    }
    if (res.status >= 400) {
      const error = (json as ApiErrorJson | null)?.error
      throw new NodeAnswerError(error?.message ?? `HTTP ${res.status}`, res.status, error?.code)
    }
    return json as T
  }

  private clientError(err: unknown): Error {
    if (err instanceof ClientError || !(err instanceof ExchangeError)) return err as Error
    switch (err.kind) {
      case 'not-running':
        return new ClientError(`the node ${this.label} is not running (its control socket does not answer)`)
      case 'went-away':
        return new ClientError(
          `the node ${this.label} went away while answering (it stopped or crashed); is it still running?`,
        )
      case 'timeout':
        return new ClientError(`the node ${this.label} did not answer in time`)
      case 'canceled':
        return new ClientError('the request was canceled')
      case 'oversized':
        return new ClientError(`the node ${this.label} sent an oversized answer (${err.message})`)
      case 'malformed':
        return new ClientError(`the node ${this.label} sent a malformed answer`)
      default:
        return new ClientError(`cannot talk to the node ${this.label}: ${err.message}`)
    }
  }
}
