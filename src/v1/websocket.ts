// v1's WebSocket endpoint, `GET /ws/{agent_id}` (upgrade) on the v1 HTTP server: the same envelopes
// poll returns, pushed as they are queued, plus `agent_joined`. Authenticated as the HTTP API is,
// bounded in sockets per agent, buffered bytes, client frames and silent peers. See docs/v1-compat.md.
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { type RawData, WebSocket, WebSocketServer } from 'ws'
import { V1Error } from './errors.js'
import type { V1Push } from './push.js'
import { tokenMatches } from './server.js'
import type { V1Store } from './store.js'
import { pathAgentId } from './validate.js'

export const WS_PATH = '/ws/'

export interface V1SocketLimits {
  /** Sockets per agent; a new one past this closes the oldest. */
  maxSocketsPerAgent: number
  /** Largest frame a client may send (bytes); a larger one closes the socket (1009). */
  maxPayload: number
  /** How often the server pings each socket, and how long it waits for the pong. */
  pingInterval: number
  pongTimeout: number
  /** Client frames answered per socket per minute; past twice this the socket is closed (1008). */
  maxClientFrames: number
}

export const WS_DEFAULTS: V1SocketLimits = {
  maxSocketsPerAgent: 4,
  maxPayload: 4 * 1024,
  pingInterval: 30_000,
  pongTimeout: 10_000,
  maxClientFrames: 60,
}

/** Close codes (4000-4999 are the application's). */
export const CLOSE_REPLACED = 4001
export const CLOSE_UNREGISTERED = 4004
export const CLOSE_SHUTDOWN = 1001
export const CLOSE_FLOOD = 1008

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  426: 'Upgrade Required',
  503: 'Service Unavailable',
}

function refuse(socket: Duplex, err: V1Error): void {
  const body = JSON.stringify({ error: err.message })
  const head = [
    `HTTP/1.1 ${err.status} ${STATUS_TEXT[err.status] ?? 'Error'}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'connection: close',
  ]
  if (socket.writable) socket.end(`${head.join('\r\n')}\r\n\r\n${body}`)
  else socket.destroy()
}

interface Conn {
  agentId: string
  ws: WebSocket
  pingTimer?: NodeJS.Timeout
  pongTimer?: NodeJS.Timeout
  /** client frames in the current minute, and when it started */
  frames: number
  windowStart: number
}

export class V1Sockets {
  private readonly wss: WebSocketServer
  private readonly conns = new Set<Conn>()
  private readonly limits: V1SocketLimits

  constructor(
    private readonly store: V1Store,
    private readonly push: V1Push,
    private readonly token: string | undefined,
    limits: Partial<V1SocketLimits> = {},
  ) {
    this.limits = { ...WS_DEFAULTS, ...limits }
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: this.limits.maxPayload,
      // no compression: a small frame may not inflate into a large one, and pushes cost no CPU to pack
      perMessageDeflate: false,
    })
  }

  /** The HTTP server's `upgrade` event: checks the path, token and agent, then hands over to ws. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy())
    let agentId: string
    try {
      const url = new URL(req.url ?? '/', 'http://v1')
      if (!url.pathname.startsWith(WS_PATH) || url.pathname.length === WS_PATH.length)
        throw new V1Error(404, 'not found')
      if (
        this.token != null &&
        !tokenMatches(req.headers.authorization, url.searchParams.get('token'), this.token)
      )
        throw new V1Error(401, 'missing or wrong bearer token (Authorization: Bearer TOKEN, or ?token=TOKEN)')
      let raw: string
      try {
        raw = decodeURIComponent(url.pathname.slice(WS_PATH.length).replace(/\/$/, ''))
      } catch {
        throw new V1Error(400, 'malformed percent-encoding in the path')
      }
      try {
        agentId = pathAgentId(raw)
      } catch {
        throw new V1Error(404, `unknown agent ${raw}: register it on this node first (POST /register)`)
      }
      if (!this.store.has(agentId))
        throw new V1Error(404, `unknown agent ${agentId}: register it on this node first (POST /register)`)
      if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
        throw new V1Error(426, 'GET /ws/{agent_id} takes a WebSocket upgrade')
    } catch (err) {
      refuse(socket, err instanceof V1Error ? err : new V1Error(400, 'malformed request URL'))
      return
    }
    // ws answers a malformed handshake (bad key or version) with 400 itself
    this.wss.handleUpgrade(req, socket, head, (ws) => this.open(agentId, ws))
  }

  private open(agentId: string, ws: WebSocket): void {
    const c: Conn = { agentId, ws, frames: 0, windowStart: Date.now() }
    const mine = this.push.sockets(agentId)
    if (mine.length >= this.limits.maxSocketsPerAgent) {
      const oldest = mine[0]!
      this.push.delete(agentId, oldest)
      oldest.close(
        CLOSE_REPLACED,
        `replaced: at most ${this.limits.maxSocketsPerAgent} sockets per agent, this was the oldest`,
      )
    }
    this.conns.add(c)
    ws.on('error', () => ws.terminate())
    ws.on('close', () => this.closed(c))
    ws.on('message', (data, isBinary) => this.incoming(c, data, isBinary))
    ws.on('pong', () => {
      clearTimeout(c.pongTimer)
      c.pongTimer = undefined
    })
    c.pingTimer = setInterval(() => this.ping(c), this.limits.pingInterval)
    c.pingTimer.unref()
    this.push.add(agentId, ws)
  }

  private ping(c: Conn): void {
    if (c.ws.readyState !== WebSocket.OPEN) return
    c.ws.ping()
    // the pong clears it; an earlier ping still unanswered keeps its (earlier) deadline
    if (c.pongTimer != null) return
    // a peer that does not answer within the timeout is gone: its queue stays for the next socket
    c.pongTimer = setTimeout(() => c.ws.terminate(), this.limits.pongTimeout)
    c.pongTimer.unref()
  }

  /** The socket only pushes: a client frame is answered with an error, and a flood closes it. */
  private incoming(c: Conn, _data: RawData, _isBinary: boolean): void {
    const now = Date.now()
    if (now - c.windowStart >= 60_000) {
      c.windowStart = now
      c.frames = 0
    }
    c.frames += 1
    if (c.frames > 2 * this.limits.maxClientFrames) {
      c.ws.close(CLOSE_FLOOD, 'too many client frames: this socket only pushes')
      return
    }
    if (c.frames > this.limits.maxClientFrames) return
    if (c.ws.bufferedAmount > 0) return
    c.ws.send(
      JSON.stringify({
        type: 'error',
        error: 'this socket only pushes messages; use the HTTP API (POST /respond, /broadcast, ...)',
      }),
    )
  }

  private closed(c: Conn): void {
    clearInterval(c.pingTimer)
    clearTimeout(c.pongTimer)
    this.conns.delete(c)
    this.push.delete(c.agentId, c.ws)
  }

  /** Pushes an envelope that is not queued (`agent_joined`) to every open socket but `except`'s. */
  announce(message: Record<string, unknown>, except?: string): void {
    const text = JSON.stringify(message)
    for (const c of this.conns) {
      if (c.agentId === except || c.ws.readyState !== WebSocket.OPEN) continue
      c.ws.send(text)
    }
  }

  /** Closes an agent's sockets (it was deregistered): code 4004. */
  closeAgent(agentId: string): void {
    for (const c of [...this.conns]) {
      if (c.agentId !== agentId) continue
      c.ws.close(CLOSE_UNREGISTERED, 'the agent is no longer registered on this node')
      this.closed(c)
    }
  }

  /** Open sockets (for tests and the info endpoint). */
  count(): number {
    return this.conns.size
  }

  /** Closes every socket (the node stops): their queues stay for poll or the next socket. */
  close(): void {
    for (const c of [...this.conns]) {
      c.ws.close(CLOSE_SHUTDOWN, 'the node is stopping')
      // a peer that does not complete the closing handshake must not hold the HTTP server open
      setTimeout(() => c.ws.terminate(), 1000).unref()
      this.closed(c)
    }
    this.push.close()
  }
}
