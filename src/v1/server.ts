// HTTP/1.1 on TCP for v1 clients: bounded bodies and request time, bearer-token auth, JSON answers,
// {"error": message} with a 4xx/5xx status for anything that is not a success. Never throws into the node.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { sameSecret } from '../rules/secret.js'
import { assertWellFormed, decodeUtf8, InvalidTextError } from '../rules/text.js'
import { MAX_BODY_SIZE, MAX_CONNECTIONS, REQUEST_TIMEOUT } from './constants.js'
import { V1Error } from './errors.js'
import { type Handler, ROUTES, type V1Context } from './routes.js'

export interface V1ServerInit {
  host: string
  port: number
  token?: string
  context: V1Context
  maxBodySize?: number
  onError: (err: Error) => void
  /** Turns a failure (a full disk, a damaged store) into the answer to give, if it knows it. */
  mapError?: (err: Error) => V1Error | undefined
  /** Checked before a success is answered: an error here replaces it (the store was lost meanwhile). */
  gate?: () => V1Error | undefined
  /** `GET /ws/{agent_id}` upgrades (src/v1/websocket.ts); without it an upgrade is answered 404. */
  onUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  })
  res.end(text)
}

/** The bearer token, else `?token=` (as v1 accepts it), compared in constant time. */
export function tokenMatches(header: string | undefined, query: string | null, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '')
  const raw = m != null ? m[1]!.trim() : query
  return sameSecret(raw ?? undefined, token)
}

/** Reads the body, refusing it past `max` bytes; an empty body is undefined. */
async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > max) throw new V1Error(413, `the body is over ${max} bytes`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength
    if (size > max) throw new V1Error(413, `the body is over ${max} bytes`)
    chunks.push(chunk as Buffer)
  }
  if (size === 0) return undefined
  let body: unknown
  try {
    body = JSON.parse(decodeUtf8(Buffer.concat(chunks), 'request body'))
  } catch (err) {
    if (err instanceof InvalidTextError) throw new V1Error(400, err.message)
    throw new V1Error(400, `malformed JSON: ${(err as Error).message}`)
  }
  // JSON.parse takes "\ud800": stored or sent, it would turn into U+FFFD
  try {
    assertWellFormed(body)
  } catch (err) {
    throw new V1Error(400, (err as Error).message)
  }
  return body
}

function match(method: string, path: string): { handler: Handler; auth: boolean; param: string } | V1Error {
  let pathKnown = false
  for (const r of ROUTES) {
    const hit = r.prefix === true ? path.startsWith(r.path) && path.length > r.path.length : path === r.path
    if (!hit) continue
    pathKnown = true
    if (r.method !== method) continue
    let param = ''
    if (r.prefix === true) {
      try {
        param = decodeURIComponent(path.slice(r.path.length))
      } catch {
        return new V1Error(400, 'malformed percent-encoding in the path')
      }
    }
    return { handler: r.handler, auth: r.auth, param }
  }
  return pathKnown ? new V1Error(405, `${method} is not allowed on ${path}`) : new V1Error(404, 'not found')
}

export class V1Server {
  private readonly server: Server
  private readonly init: V1ServerInit

  constructor(init: V1ServerInit) {
    this.init = init
    this.server = createServer(
      { requestTimeout: REQUEST_TIMEOUT, headersTimeout: REQUEST_TIMEOUT },
      (req, res) => {
        this.handle(req, res).catch((err: Error) => {
          init.onError(err)
          send(res, 500, { error: 'internal error' })
        })
      },
    )
    this.server.maxConnections = MAX_CONNECTIONS
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (init.onUpgrade != null) init.onUpgrade(req, socket, head)
      else socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
    })
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n')
      else socket.destroy()
    })
  }

  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.init.port, this.init.host, () => {
        this.server.off('error', reject)
        resolve()
      })
    })
    return this.server.address() as AddressInfo
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let path: string
    let queryToken: string | null
    try {
      // the path, and from the query only `token` (v1 clients may authenticate with ?token=)
      const url = new URL(req.url ?? '/', 'http://v1')
      path = url.pathname
      queryToken = url.searchParams.get('token')
    } catch {
      send(res, 400, { error: 'malformed request URL' })
      return
    }
    if (path.length > 1 && path.endsWith('/') && !path.startsWith('/files/')) path = path.slice(0, -1)
    const route = match(req.method ?? 'GET', path)
    try {
      if (route instanceof V1Error) throw route
      const { token } = this.init
      if (route.auth && token != null && !tokenMatches(req.headers.authorization, queryToken, token))
        throw new V1Error(401, 'missing or wrong bearer token (Authorization: Bearer TOKEN)')
      const body =
        req.method === 'POST' || req.method === 'DELETE'
          ? await readJson(req, this.init.maxBodySize ?? MAX_BODY_SIZE)
          : undefined
      const result = await route.handler(this.init.context, body, route.param)
      const refused = this.init.gate?.()
      if (refused != null) throw refused
      send(res, 200, result)
    } catch (caught) {
      const err =
        caught instanceof Error && !(caught instanceof V1Error)
          ? (this.init.mapError?.(caught) ?? caught)
          : caught
      if (err instanceof V1Error) {
        if (err.status === 413 || err.status === 401) res.setHeader('connection', 'close')
        if (err.retryAfter != null) res.setHeader('retry-after', String(err.retryAfter))
        send(res, err.status, { error: err.message })
        return
      }
      throw err
    }
  }
}
