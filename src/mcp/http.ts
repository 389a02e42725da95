// `clawlink mcp --http [HOST:]PORT`: the tools over MCP Streamable HTTP at /mcp, one SDK transport and
// server per session. Requests pass http-guard.ts first (Host, Origin, token, body size).
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js'
import { keptClient } from '../client/connect.js'
import { isLoopbackHost } from '../rules/listen.js'
import { BodyTooLargeError, type GuardOptions, readBody, refusal } from './http-guard.js'
import { createToolServer, errorText, type ToolTarget } from './server.js'

export const MCP_PATH = '/mcp'
/** Open sessions at most; a new one beyond this closes the least recently used. */
export const MAX_SESSIONS = 64

export interface McpHttpOptions extends ToolTarget {
  host: string
  port: number
  token?: string
  allowedOrigins?: string[]
  /** where diagnostics go (default stderr) */
  warn?: (line: string) => void
}

export interface RunningMcpHttpServer {
  /** http://HOST:PORT/mcp, with the port actually bound */
  url: string
  close(): Promise<void>
}

interface Session {
  transport: StreamableHTTPServerTransport
  server: McpServer
  used: number
}

function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
) {
  if (res.headersSent) return
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null })
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body)
}

export async function startMcpHttpServer(opts: McpHttpOptions): Promise<RunningMcpHttpServer> {
  const loopback = isLoopbackHost(opts.host)
  if (!loopback && opts.token == null) throw new Error('an MCP server off loopback needs a token')
  const guard: GuardOptions = { loopback, token: opts.token, allowedOrigins: opts.allowedOrigins ?? [] }
  const warn = opts.warn ?? ((line: string) => process.stderr.write(`clawlink mcp: ${line}\n`))
  const sessions = new Map<string, Session>()
  // every session's calls share one kept client to the node
  const node = keptClient(opts.node, opts.env)

  const closeSession = (id: string) => {
    const s = sessions.get(id)
    if (s == null) return
    sessions.delete(id)
    s.server.close().catch(() => {})
  }

  const openSession = async (): Promise<StreamableHTTPServerTransport> => {
    if (sessions.size >= MAX_SESSIONS) {
      const [oldest] = [...sessions].sort((a, b) => a[1].used - b[1].used)
      if (oldest != null) closeSession(oldest[0])
    }
    const server = createToolServer(node)
    server.server.onerror = (err) => warn(errorText(err))
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server, used: Date.now() })
      },
      onsessionclosed: (id) => closeSession(id),
    })
    transport.onclose = () => {
      if (transport.sessionId != null) sessions.delete(transport.sessionId)
    }
    await server.connect(transport)
    return transport
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '').split('?')[0]
    if (path !== MCP_PATH) return sendError(res, 404, `not found: the MCP endpoint is ${MCP_PATH}`)
    const refused = refusal(req, guard)
    if (refused != null) return sendError(res, refused.status, refused.message, refused.headers)
    let body: unknown
    if (req.method === 'POST') {
      let raw: Buffer
      try {
        raw = await readBody(req)
      } catch (err) {
        if (err instanceof BodyTooLargeError) {
          sendError(res, 413, err.message, { connection: 'close' })
          req.destroy()
          return
        }
        throw err
      }
      try {
        body = JSON.parse(raw.toString('utf8'))
      } catch {
        return sendError(res, 400, 'the body is not JSON')
      }
    }
    const id = req.headers['mcp-session-id']
    if (typeof id === 'string') {
      const session = sessions.get(id)
      if (session == null) return sendError(res, 404, 'unknown or closed session; initialize again')
      session.used = Date.now()
      return session.transport.handleRequest(req, res, body)
    }
    if (req.method === 'POST' && isInitializeRequest(body)) {
      const transport = await openSession()
      return transport.handleRequest(req, res, body)
    }
    sendError(res, 400, 'no session: send initialize first, then the Mcp-Session-Id it returns')
  }

  const http: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      warn(`request failed: ${errorText(err)}`)
      sendError(res, 500, 'internal error')
    })
  })
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(opts.port, opts.host, () => {
      http.off('error', reject)
      resolve()
    })
  })
  const { port } = http.address() as AddressInfo
  const shownHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host
  return {
    url: `http://${shownHost}:${port}${MCP_PATH}`,
    async close() {
      for (const id of [...sessions.keys()]) closeSession(id)
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
      node.close()
    },
  }
}
