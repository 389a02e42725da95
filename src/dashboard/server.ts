// The dashboard's HTTP server: the bundled page and its assets, the JSON API (api.ts) and the live
// event stream (Server-Sent Events relaying the node's watch stream). Every request passes guard.ts.
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { ClientError, NodeAnswerError } from '../client/errors.js'
import type { NodeSelection } from '../client/select-node.js'
import { BadRequestError, closeClients, handleApi, NOT_FOUND, nodeFor } from './api.js'
import { type GuardConfig, newToken, refusal, SECURITY_HEADERS, setCookie } from './guard.js'
import { WatchRelay } from './relay.js'

/** The browser app, built by scripts/build-dashboard.mjs next to this file's compiled form. */
const WEB_DIR = join(import.meta.dirname, '..', '..', 'dist', 'dashboard', 'web')
/** A request body (JSON; an upload is base64 in it). */
const MAX_BODY = 48 * 1024 * 1024
/** Bytes of events queued for one page before its stream is ended. */
const MAX_QUEUED = 8 * 1024 * 1024
const ASSETS: Record<string, string> = {
  '/assets/app.js': 'text/javascript; charset=utf-8',
  '/assets/app.css': 'text/css; charset=utf-8',
}

export interface DashboardOptions {
  sel: NodeSelection
  env: NodeJS.ProcessEnv
  host: string
  port: number
  /** fixed for tests; random per run otherwise */
  token?: string
  /** where the built page is (default: dist/dashboard/web) */
  webDir?: string
}

export interface Dashboard {
  /** the URL to open, with the token */
  url: string
  token: string
  port: number
  close(): Promise<void>
}

class HttpError extends Error {
  override name = 'HttpError'
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const data = Buffer.from(JSON.stringify(body))
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(data.length),
  })
  res.end(data)
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`)
    chunks.push(chunk as Buffer)
  }
  if (size === 0) return undefined
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new HttpError(400, 'request body is not valid JSON')
  }
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const token = opts.token ?? newToken()
  const webDir = opts.webDir ?? WEB_DIR
  let port = opts.port
  const cfg: GuardConfig = { token, host: opts.host, port: () => port }
  const relays = new Map<string, WatchRelay>()
  const streams = new Set<ServerResponse>()
  const ctx = { sel: opts.sel, env: opts.env }
  // read once: a missing build is said at start, not at the first page load
  const index = await readFile(join(webDir, 'index.html'), 'utf8')

  const relayFor = (query: URLSearchParams): WatchRelay => {
    const dir = query.get('node') ?? ''
    // a named node is watched by its data dir (it may restart); the default by the command's selection
    const key = dir === '' ? '' : nodeFor(ctx, query).dataDir
    let relay = relays.get(key)
    if (relay == null) {
      relay = new WatchRelay(key === '' ? opts.sel : { dataDir: key }, opts.env)
      relays.set(key, relay)
    }
    return relay
  }

  const events = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => {
    const relay = relayFor(query)
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    res.write(': clawlink dashboard\n\n')
    streams.add(res)
    const off = relay.subscribe((m) => {
      if (res.writableEnded) return
      const payload =
        m.kind === 'event' ? m.event : { type: 'node', state: m.state, name: m.name, message: m.message }
      res.write(`data: ${JSON.stringify(payload)}\n\n`)
      // a page that stopped reading is let go; its browser reconnects and reloads the whole state
      if (res.writableLength > MAX_QUEUED) res.end()
    })
    // a comment now and then keeps idle proxies and the browser's connection check content
    const ping = setInterval(() => !res.writableEnded && res.write(': ping\n\n'), 15_000)
    req.on('close', () => {
      clearInterval(ping)
      off()
      streams.delete(res)
    })
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v)
    const url = new URL(req.url ?? '/', 'http://dashboard')
    const path = url.pathname
    const tokenInUrl = path === '/' ? (url.searchParams.get('token') ?? undefined) : undefined
    const refused = refusal(req, cfg, tokenInUrl)
    if (refused != null) return send(res, refused.status, { error: { message: refused.message } })
    if (req.method === 'GET' && path === '/') {
      if (tokenInUrl != null) {
        // the token leaves the address bar (and the history) at once: the cookie carries it from now on
        res.writeHead(303, { location: '/', 'set-cookie': setCookie(token, port) })
        return res.end()
      }
      // the page's scripts send the token as a header on changes; it is no secret from the page itself
      const html = index.replace('__TOKEN__', token)
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      return res.end(html)
    }
    if (req.method === 'GET' && ASSETS[path] != null) {
      const body = await readFile(join(webDir, path.slice('/assets/'.length)))
      res.writeHead(200, { 'content-type': ASSETS[path]!, 'content-length': String(body.length) })
      return res.end(body)
    }
    if (req.method === 'GET' && path === '/api/events') return events(req, res, url.searchParams)
    if (!path.startsWith('/api/')) return send(res, 404, { error: { message: 'not found' } })
    const body = req.method === 'POST' ? await readJson(req) : undefined
    const out = await handleApi(ctx, {
      method: req.method ?? 'GET',
      path,
      query: url.searchParams,
      body,
      res,
    })
    if (out === NOT_FOUND) return send(res, 404, { error: { message: 'not found' } })
    if (out !== undefined || !res.headersSent) send(res, 200, out ?? null)
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status =
        err instanceof HttpError
          ? err.status
          : err instanceof BadRequestError
            ? 400
            : err instanceof NodeAnswerError
              ? err.status
              : err instanceof ClientError
                ? 502
                : 500
      // the node's own answers keep their message; only the dashboard's own failures are hidden
      const internal = status === 500 && !(err instanceof NodeAnswerError)
      const message = internal ? 'internal error' : (err as Error).message
      if (internal) process.stderr.write(`clawlink dashboard: ${(err as Error).stack ?? String(err)}\n`)
      const code = err instanceof NodeAnswerError ? err.code : undefined
      if (!res.headersSent) send(res, status, { error: { message, ...(code != null ? { code } : {}) } })
      else res.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  port = (server.address() as AddressInfo).port
  const shownHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host
  return {
    url: `http://${shownHost}:${port}/?token=${token}`,
    token,
    port,
    async close() {
      for (const r of relays.values()) r.stop()
      for (const s of streams) s.end()
      closeClients()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
