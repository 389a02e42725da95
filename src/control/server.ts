// The local control API: HTTP/1.1 with JSON bodies on a Unix socket that only this OS user can open.
import { chmodSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { ApiErrorJson } from '../api/types.js'
import { assertWellFormed, decodeUtf8, InvalidTextError } from '../rules/text.js'

/** Default largest request body the API reads. Anything bigger is refused before it is buffered. */
export const MAX_BODY_SIZE = 4 * 1024 * 1024

export class ApiError extends Error {
  static override readonly name = 'ApiError'
  override name = 'ApiError'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** extra response headers, such as Retry-After on a 429 */
    readonly headers?: Record<string, string>,
  ) {
    super(message)
  }
}

export interface ApiRequest {
  method: string
  path: string
  query: URLSearchParams
  body: unknown
  /** Aborted when the client goes away (long polls stop waiting). */
  signal: AbortSignal
  /**
   * Runs `fn(true)` once the answer has been handed to the client's socket in full, or `fn(false)` if
   * it was not (the client left, the route failed): what a poll takes is only seen once it is out.
   */
  onSent(fn: (sent: boolean) => void): void
}

export type Route = (req: ApiRequest) => Promise<unknown> | unknown

/** One JSON value per line on a response that stays open (`application/x-ndjson`). */
export interface LineWriter {
  /** Queues one line; false when the client has fallen behind by more than the stream's buffer bound. */
  write(value: unknown): boolean
  /** Resolves once queued lines have gone out (or the client left). */
  drain(): Promise<void>
  /** Ends the response; the client sees the stream end. */
  end(): void
}

/** A streaming endpoint: validates its request (throwing ApiError) and returns the function that streams. */
export type StreamRoute = (req: ApiRequest) => (out: LineWriter) => Promise<void>

/** Bytes a slow stream reader may leave queued before its stream is ended (it may resume from a seq). */
export const STREAM_BUFFER_LIMIT = 4 * 1024 * 1024

/** Control connections open at once (CLI calls, kept connections, long polls, watch streams); more are refused. */
export const MAX_CONTROL_CONNECTIONS = 256
/**
 * An idle kept connection is closed after this long. Clients close theirs sooner (ControlClient: 4 s,
 * or a second under the `Keep-Alive: timeout` the server announces), so a request never meets the close.
 */
export const KEEP_ALIVE_TIMEOUT = 10_000

/** The request's body bytes (events, not an async iterator: cheaper on a hot path). */
function readBytes(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > max) {
        // the rest is let go by (a flowing stream drops data nobody listens to), and the connection is
        // closed after the 413: it cannot carry another request
        cleanup()
        reject(new ApiError(413, 'too_large', `request body over ${max} bytes`))
      } else chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks))
    }
    // the client went away or sent a broken body (shorter than declared, bad chunking): its fault
    const onFail = (err?: Error) => {
      cleanup()
      reject(new ApiError(400, 'bad_request', `request body not received: ${err?.message ?? 'aborted'}`))
    }
    const onClose = () => {
      if (!req.complete) onFail()
    }
    const cleanup = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onFail)
      req.off('close', onClose)
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onFail)
    req.on('close', onClose)
  })
}

async function readBody(req: IncomingMessage, max: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > max) throw new ApiError(413, 'too_large', `request body over ${max} bytes`)
  // a request that says it has no body (most GETs) is not read at all
  if (declared === 0 && req.headers['transfer-encoding'] == null) return undefined
  const raw = await readBytes(req, max)
  if (raw.length === 0) return undefined
  let body: unknown
  try {
    body = JSON.parse(decodeUtf8(raw, 'request body'))
  } catch (err) {
    if (err instanceof InvalidTextError) throw new ApiError(400, 'bad_encoding', err.message)
    throw new ApiError(400, 'bad_json', 'request body is not valid JSON')
  }
  // JSON.parse takes "\ud800": stored or sent, it would turn into U+FFFD
  try {
    assertWellFormed(body)
  } catch (err) {
    throw new ApiError(400, 'bad_encoding', (err as Error).message)
  }
  return body
}

/**
 * The query, refusing percent-escapes that are not UTF-8 (URLSearchParams would turn %FF or an encoded
 * surrogate into U+FFFD). A '%' not followed by two hex digits stays literal, as URLSearchParams reads it.
 */
function strictQuery(url: URL): URLSearchParams {
  for (const part of url.search.slice(1).split('&')) {
    try {
      decodeURIComponent(part.replace(/%(?![0-9a-fA-F]{2})/g, '%25'))
    } catch {
      throw new ApiError(400, 'bad_encoding', 'query string is not valid UTF-8')
    }
  }
  return url.searchParams
}

/** A plain target (`/v1/poll?wait=1000&limit=10`): no dot segments, escapes, fragment or odd bytes. */
const PLAIN_TARGET = /^\/(?!\/)[A-Za-z0-9/_-]*(\?[A-Za-z0-9=&_.,:-]*)?$/

/**
 * The request's path and query. A plain target is split as it is (what URL would make of it, without
 * building one per request); anything else is read by URL, and one it cannot parse (say
 * `http://x:99999/`) is the client's error.
 */
function requestTarget(target = '/'): { path: string; query: URLSearchParams } {
  if (PLAIN_TARGET.test(target)) {
    const q = target.indexOf('?')
    return q < 0
      ? { path: target, query: new URLSearchParams() }
      : { path: target.slice(0, q), query: new URLSearchParams(target.slice(q + 1)) }
  }
  let url: URL
  try {
    url = new URL(target, 'http://clawlink')
  } catch {
    throw new ApiError(400, 'bad_request', 'malformed request target')
  }
  return { path: url.pathname, query: strictQuery(url) }
}

function send(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value ?? null)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

function lineWriter(res: ServerResponse): LineWriter {
  return {
    write(value) {
      if (res.destroyed || res.writableEnded) return false
      if (res.writableLength > STREAM_BUFFER_LIMIT) return false
      res.write(`${JSON.stringify(value)}\n`)
      return true
    },
    drain() {
      if (res.destroyed || res.writableEnded || !res.writableNeedDrain) return Promise.resolve()
      return new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done)
          res.off('close', done)
          resolve()
        }
        res.on('drain', done)
        res.on('close', done)
      })
    },
    end() {
      if (!res.writableEnded) res.end()
    },
  }
}

export interface ControlHooks {
  /** Turns an error a route threw into the API error to answer with (e.g. a full disk), if it knows it. */
  mapError?: (err: Error) => ApiError | undefined
  /** Checked before a success is answered: an error here replaces it (the store was lost meanwhile). */
  gate?: () => ApiError | undefined
}

export class ControlServer {
  private readonly routes = new Map<string, Route>()
  private readonly streams = new Map<string, StreamRoute>()
  private server?: Server

  constructor(
    private readonly socketPath: string,
    private readonly onError: (err: Error) => void = () => {},
    private readonly maxBody = MAX_BODY_SIZE,
    private readonly hooks: ControlHooks = {},
  ) {}

  route(method: string, path: string, handler: Route): void {
    this.routes.set(`${method} ${path}`, handler)
  }

  stream(method: string, path: string, handler: StreamRoute): void {
    this.streams.set(`${method} ${path}`, handler)
  }

  async listen(): Promise<void> {
    // We hold the data dir lock, so a socket file left here belongs to a dead node.
    rmSync(this.socketPath, { force: true })
    const server = createServer(
      {
        keepAliveTimeout: KEEP_ALIVE_TIMEOUT,
        // the time to receive a request's head, from its first byte (an idle kept connection is the
        // keep-alive timeout's)
        headersTimeout: 10_000,
        // the time to receive a whole request (headers and body), not to answer it: long polls are not
        // cut, but a client that stalls mid-body no longer holds its connection and buffered body forever
        requestTimeout: 60_000,
      },
      (req, res) => void this.handle(req, res),
    )
    // each connection holds a socket and its buffers: a runaway local client cannot open them without end
    server.maxConnections = MAX_CONTROL_CONNECTIONS
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.socketPath, () => {
        server.off('error', reject)
        resolve()
      })
    })
    chmodSync(this.socketPath, 0o600)
    this.server = server
  }

  async close(): Promise<void> {
    const server = this.server
    this.server = undefined
    if (server == null) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    rmSync(this.socketPath, { force: true })
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const abort = new AbortController()
    // an answer sent in full needs no abort (and building the AbortError each time is not free)
    res.on('close', () => {
      if (!res.writableFinished) abort.abort()
    })
    const sentHooks: Array<(sent: boolean) => void> = []
    let fired = false
    const fire = (sent: boolean) => {
      if (fired) return
      fired = true
      for (const fn of sentHooks.splice(0)) {
        try {
          fn(sent)
        } catch (err) {
          this.onError(err as Error)
        }
      }
    }
    try {
      const target = requestTarget(req.url)
      const key = `${req.method} ${target.path}`
      const route = this.routes.get(key)
      const streamRoute = this.streams.get(key)
      if (route == null && streamRoute == null)
        throw new ApiError(404, 'not_found', `no such endpoint: ${req.method} ${target.path}`)
      const body = await readBody(req, this.maxBody)
      const request = {
        method: req.method ?? 'GET',
        path: target.path,
        query: target.query,
        body,
        signal: abort.signal,
        onSent: (fn: (sent: boolean) => void) => {
          sentHooks.push(fn)
        },
      }
      if (streamRoute != null) {
        const run = streamRoute(request)
        res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' })
        await run(lineWriter(res))
        res.end()
        return
      }
      const result = await route!(request)
      const refused = this.hooks.gate?.()
      if (refused != null) throw refused
      if (sentHooks.length > 0) {
        if (res.destroyed || abort.signal.aborted) return fire(false)
        res.once('finish', () => fire(true))
        res.once('close', () => fire(false))
      }
      if (!res.headersSent) send(res, 200, result)
      else fire(false)
    } catch (caught) {
      fire(false)
      let err = caught
      if (!(err instanceof ApiError) && err instanceof Error) err = this.hooks.mapError?.(err) ?? err
      if (res.headersSent) {
        // a stream that failed midway: end it so the client sees the end, not a hang
        if (!(err instanceof ApiError)) this.onError(err as Error)
        if (!res.writableEnded) res.end()
        return
      }
      // a body left unread (refused, or broken) must not be taken for the next request: close after
      const hasBody =
        Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] != null
      if (hasBody && !req.complete) res.shouldKeepAlive = false
      if (err instanceof ApiError) {
        for (const [name, value] of Object.entries(err.headers ?? {})) res.setHeader(name, value)
        send(res, err.status, { error: { code: err.code, message: err.message } } satisfies ApiErrorJson)
      } else {
        this.onError(err as Error)
        send(res, 500, {
          error: { code: 'internal', message: (err as Error).message },
        } satisfies ApiErrorJson)
      }
    }
  }
}
