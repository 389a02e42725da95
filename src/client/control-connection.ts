// One Unix-socket connection to a node's control API carrying one request at a time: once for a CLI
// call (`Connection: close`), or one request after another for a long-lived client (keep-alive).
// Plain node:net: importing node:http costs ~70 ms, a third of a CLI call's budget.
import { connect, type Socket } from 'node:net'
import {
  IncompleteResponse,
  MalformedResponse,
  OversizedResponse,
  type ParsedResponse,
  ResponseParser,
} from './response-parser.js'

export type ExchangeFailure =
  | 'not-running'
  | 'went-away'
  | 'malformed'
  | 'oversized'
  | 'timeout'
  | 'canceled'
  | 'io'

/** Why an exchange failed, and how far it got (whether it may be retried). */
export class ExchangeError extends Error {
  static override readonly name = 'ExchangeError'
  override name = 'ExchangeError'
  constructor(
    readonly kind: ExchangeFailure,
    message: string,
    /** the request's bytes were all handed to the kernel: the node may have acted on it */
    readonly written: boolean,
    /** some of an answer arrived */
    readonly answered: boolean,
  ) {
    super(message)
  }
}

export interface ExchangeOptions {
  /** fails after this long without a byte from the node (ms) */
  timeout: number
  /** aborting destroys the connection: the node sees a client that left */
  signal?: AbortSignal
  /** the largest answer body accepted */
  maxResponse: number
}

interface Pending {
  parser: ResponseParser
  resolve(res: ParsedResponse): void
  reject(err: ExchangeError): void
  written: boolean
  signal?: AbortSignal
  onAbort(): void
}

export class ControlConnection {
  private readonly socket: Socket
  private current?: Pending
  private closed = false
  private reusable = true
  /** requests answered on this connection */
  served = 0
  /** called once when the connection closes (either side, or an error) */
  onClosed?: () => void

  constructor(path: string) {
    this.socket = connect(path)
    this.socket.on('data', (d: Buffer) => this.onData(d))
    this.socket.on('end', () => this.onEnd())
    this.socket.on('error', (err: NodeJS.ErrnoException) => this.onError(err))
    this.socket.on('close', () => this.onClose())
    this.socket.on('timeout', () => {
      if (this.current != null) this.fail(new ExchangeError('timeout', 'timeout', this.current.written, true))
      else this.destroy()
    })
  }

  /** Open, idle, and able to carry another request. */
  get usable(): boolean {
    return !this.closed && this.reusable && this.current == null
  }

  /** Sends one request (head and body in `bytes`) and resolves with its answer. */
  exchange(bytes: Buffer, opts: ExchangeOptions): Promise<ParsedResponse> {
    if (!this.usable) return Promise.reject(new ExchangeError('went-away', 'connection closed', false, false))
    return new Promise<ParsedResponse>((resolve, reject) => {
      const pending: Pending = {
        parser: new ResponseParser(opts.maxResponse),
        resolve,
        reject,
        written: false,
        signal: opts.signal,
        onAbort: () => this.fail(new ExchangeError('canceled', 'canceled', pending.written, false)),
      }
      this.current = pending
      if (opts.signal != null) {
        if (opts.signal.aborted) return pending.onAbort()
        opts.signal.addEventListener('abort', pending.onAbort, { once: true })
      }
      this.socket.ref()
      this.socket.setTimeout(opts.timeout)
      // write, not end: a half-closed socket would look like a client that left, ending long polls
      this.socket.write(bytes, (err) => {
        if (err == null) pending.written = true
      })
    })
  }

  /** An idle connection closes after `ms` without use and never keeps the process alive. */
  idle(ms: number): void {
    if (this.closed) return
    this.socket.setTimeout(ms)
    this.socket.unref()
  }

  /** Closes the connection; a request still running on it fails as canceled. */
  destroy() {
    const pending = this.current
    if (pending != null) return this.fail(new ExchangeError('canceled', 'closed', pending.written, true))
    this.closed = true
    this.socket.destroy()
  }

  private onData(chunk: Buffer) {
    const pending = this.current
    if (pending == null) {
      // bytes nobody asked for: the stream is out of step, never trust it again
      this.destroy()
      return
    }
    let res: ParsedResponse | undefined
    try {
      res = pending.parser.push(chunk)
    } catch (err) {
      return this.fail(parseFailure(err as Error, pending))
    }
    if (res == null) return
    if (!res.keepAlive || pending.parser.extra.length > 0) this.reusable = false
    this.settle()
    this.served++
    pending.resolve(res)
    if (!this.reusable) this.letClose()
  }

  /**
   * The node closes a connection after an answer that ends it (`Connection: close`): leave that to it
   * (it counts a poll's events as seen once the answer is out; a client closing first could race
   * that), without keeping the process alive, and destroy it if the node has not within a second.
   */
  private letClose(): void {
    this.closed = true
    this.socket.unref()
    this.socket.setTimeout(1000)
  }

  private onEnd() {
    const pending = this.current
    this.closed = true
    if (pending == null) return
    let res: ParsedResponse
    try {
      res = pending.parser.end()
    } catch (err) {
      return this.fail(parseFailure(err as Error, pending))
    }
    this.settle()
    this.served++
    pending.resolve(res)
    this.destroy()
  }

  private onError(err: NodeJS.ErrnoException): void {
    const pending = this.current
    this.closed = true
    if (pending == null) return
    const answered = pending.parser.received > 0
    if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
      this.fail(new ExchangeError('not-running', err.message, false, false))
    } else if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
      this.fail(new ExchangeError('went-away', err.message, pending.written, answered))
    } else {
      this.fail(new ExchangeError('io', err.message, pending.written, answered))
    }
  }

  private onClose(): void {
    this.closed = true
    const pending = this.current
    if (pending != null)
      this.fail(new ExchangeError('went-away', 'closed', pending.written, pending.parser.received > 0))
    const done = this.onClosed
    this.onClosed = undefined
    done?.()
  }

  /** The request is over (answered): the connection waits for the next one. */
  private settle(): void {
    const pending = this.current
    if (pending == null) return
    this.current = undefined
    pending.signal?.removeEventListener('abort', pending.onAbort)
    this.socket.setTimeout(0)
  }

  private fail(err: ExchangeError): void {
    const pending = this.current
    if (pending == null) return
    this.settle()
    this.closed = true
    this.socket.destroy()
    pending.reject(err)
  }
}

function parseFailure(err: Error, pending: Pending): ExchangeError {
  const answered = pending.parser.received > 0
  if (err instanceof IncompleteResponse)
    return new ExchangeError('went-away', err.message, pending.written, answered)
  if (err instanceof OversizedResponse) return new ExchangeError('oversized', err.message, true, true)
  if (err instanceof MalformedResponse) return new ExchangeError('malformed', err.message, true, true)
  return new ExchangeError('malformed', err.message, true, true)
}
