// The HTTP side of the bridge: cards, and per agent the SDK's JSON-RPC and HTTP+JSON transports
// (express middleware) over one MeshRequestHandler. With a token, every endpoint but the cards asks
// for `Authorization: Bearer TOKEN` (the cards say so in their security schemes).
import type { Server } from 'node:http'
import { AgentCard } from '@a2a-js/sdk'
import { A2A_ERROR_CODE } from '@a2a-js/sdk/errors'
import { jsonRpcHandler, restHandler, UserBuilder } from '@a2a-js/sdk/server/express'
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express'
import { sameSecret } from '../rules/secret.js'
import { agentCard, findAgent, type MeshAgent, meshAgents } from './cards.js'
import { type BridgeParts, MeshRequestHandler } from './executor.js'

const SELF_REFUSAL =
  "this node's own agent takes no task through its own bridge (the mesh has no task from an agent to itself): send to /agents/NAME/ for another agent"

interface Endpoints {
  key: string
  jsonrpc: RequestHandler
  rest: RequestHandler
}

const JSON_TYPES = ['application/json', 'application/*+json']

export interface A2aServerInit {
  parts: BridgeParts
  token?: string
  onError: (err: Error) => void
}

/** The express app of the bridge. */
export function bridgeApp(init: A2aServerInit): express.Express {
  const { parts } = init
  const node = parts.node
  const app = express()
  app.disable('x-powered-by')
  const want = init.token != null ? `Bearer ${init.token}` : undefined
  const auth = (req: Request, res: Response, next: NextFunction) => {
    if (want == null) return next()
    if (sameSecret(req.get('authorization'), want)) return next()
    res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'a bearer token is required' })
  }
  const base = (req: Request) => `${req.protocol}://${req.get('host') ?? 'localhost'}`
  const sendCard = (res: Response, agent: MeshAgent | undefined, req: Request) => {
    if (agent == null) return void res.status(404).json({ error: 'no such agent on the mesh' })
    res.json(AgentCard.toJSON(agentCard(agent, base(req), want != null)))
  }

  // one handler per agent, made again when its card changes (caps, description)
  const endpoints = new Map<string, Endpoints>()
  const endpointsFor = (agent: MeshAgent): Endpoints => {
    const key = JSON.stringify([agent.kind, agent.caps, agent.description])
    const id = agent.kind === 'self' ? '' : agent.name
    const known = endpoints.get(id)
    if (known != null && known.key === key) return known
    const card = agentCard(agent, 'http://localhost', want != null)
    const handler = new MeshRequestHandler(
      card,
      parts,
      // a node's own agent by its PeerId (names need not be unique); a hosted agent by its name
      { to: agent.kind === 'node' ? agent.node : agent.name, name: agent.name },
      agent.kind === 'self' ? SELF_REFUSAL : undefined,
    )
    const made = {
      key,
      jsonrpc: jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }),
      rest: restHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }),
    }
    if (endpoints.size > 1000) endpoints.clear()
    endpoints.set(id, made)
    return made
  }
  const self = () => meshAgents(node)[0]!
  const named = (req: Request) => findAgent(node, String(req.params.name))
  const mount = (transport: 'jsonrpc' | 'rest', pick: (req: Request) => MeshAgent | undefined) =>
    ((req, res, next) => {
      const agent = pick(req)
      if (agent == null) return void res.status(404).json({ error: 'no such agent on the mesh' })
      endpointsFor(agent)[transport](req, res, next)
    }) as RequestHandler

  // the SDK's parsers stop at 100 KB: a message may be as large as a mesh task (JSON-escaped); parsed
  // here, after the token check, the SDK's own parser finds the body read and leaves it
  const limit = Math.max(2 * 1024 * 1024, node.options.maxTaskSize * 6 + 64 * 1024)
  const body = express.json({ limit, type: JSON_TYPES })
  app.get('/.well-known/agent-card.json', (req, res) => sendCard(res, self(), req))
  app.get('/agents/:name/.well-known/agent-card.json', (req, res) => sendCard(res, named(req), req))
  app.use('/a2a/jsonrpc', auth, body, mount('jsonrpc', self))
  app.use('/a2a/rest', auth, body, mount('rest', self))
  app.use('/agents/:name/a2a/jsonrpc', auth, body, mount('jsonrpc', named))
  app.use('/agents/:name/a2a/rest', auth, body, mount('rest', named))
  app.use((_req: Request, res: Response) => void res.status(404).json({ error: 'not found' }))
  app.use(
    (err: Error & { status?: number; type?: string }, req: Request, res: Response, _next: NextFunction) => {
      if (res.headersSent) return
      // as the SDK's JSON-RPC transport answers a body it cannot parse
      if (err.type === 'entity.parse.failed' && req.originalUrl.includes('/a2a/jsonrpc'))
        return void res.json({
          jsonrpc: '2.0',
          id: null,
          error: { code: A2A_ERROR_CODE.PARSE_ERROR, message: 'Invalid JSON payload.' },
        })
      if (err.status != null && err.status >= 400 && err.status < 500)
        return void res.status(err.status).json({ error: err.message })
      init.onError(err)
      res.status(500).json({ error: 'internal error' })
    },
  )
  return app
}

/** Listens; resolves with the bound address. */
export function listen(app: express.Express, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host)
    server.once('listening', () => resolve(server))
    server.once('error', reject)
  })
}
