// The v1 endpoints about agents and the service: info, register, heartbeat, discover, deregister.
// Times are epoch seconds as floats, as v1 (Python's time.time()) sent them.
import type { ClawLinkNode } from '../core/index.js'
import { VERSION } from '../version.js'
import { localAgentJson, localAgentsJson, remoteAgents, secs } from './agents.js'
import { SERVICE } from './constants.js'
import type { Handler } from './routes.js'
import { parseHeartbeat, parseRegister, pathAgentId } from './validate.js'

/** v1's `endpoints`: an object of name → "METHOD path". */
const ENDPOINTS: Record<string, string> = {
  info: 'GET /',
  register: 'POST /register',
  deregister: 'DELETE /agents/{agent_id}',
  discover: 'GET /discover',
  heartbeat: 'POST /heartbeat',
  delegate: 'POST /delegate',
  respond: 'POST /respond',
  broadcast: 'POST /broadcast',
  poll: 'GET /poll/{agent_id}',
  files_write: 'POST /files',
  files_list: 'GET /files',
  files_read: 'GET /files/{file_key}',
  websocket: 'GET /ws/{agent_id}',
}

export const serverTime = () => secs(Date.now())

/** Agents v1 would list: heard from within STALE_AFTER (local and other nodes'), and online nodes. */
export function onlineAgents(node: ClawLinkNode, local: ReturnType<typeof localAgentsJson>) {
  const remote = remoteAgents(node)
    .filter((r) => r.online)
    .map((r) => r.json)
  const peers = node.presence
    .peers()
    .filter((p) => p.status === 'online' && !p.card.relayOnly)
    .map((p) => ({
      agent_id: p.id,
      name: p.card.name,
      capabilities: [...p.card.caps],
      machine: p.card.machine,
      description: p.card.description,
      status: p.status,
      last_heartbeat: secs(p.lastSeen),
      node: p.id,
      kind: 'node',
    }))
  return [...local.filter((a) => a.status === 'online'), ...remote, ...peers]
}

export const info: Handler = (ctx) => ({
  service: SERVICE,
  version: VERSION,
  api: 'v1',
  auth_required: ctx.authRequired,
  agents_online: onlineAgents(ctx.node, localAgentsJson(ctx.node, ctx.store)).length,
  total_broadcasts: ctx.node.knowledgeStore.count(),
  shared_files: ctx.node.fileStore.list('').filter((s) => !s.winner.deleted).length,
  endpoints: ENDPOINTS,
  server_time: serverTime(),
  node: { peer_id: ctx.node.peerId.toString(), name: ctx.node.localCard().name },
})

export const register: Handler = async (ctx, body) => {
  const r = parseRegister(body)
  const a = ctx.store.register(r)
  ctx.node.log.emit(
    'v1_agent_registered',
    { agent: a.agentId, name: a.name, capabilities: a.capabilities, replaced: a.replaced },
    `v1 agent registered: ${a.name} (${a.agentId})${a.replaced.length > 0 ? `, replacing ${a.replaced.join(', ')}` : ''}`,
  )
  // other nodes learn of it with our card
  await ctx.node.presence.announce().catch(() => {})
  return {
    status: 'registered',
    agent_id: a.agentId,
    agent: localAgentJson(a, ctx.node.peerId.toString(), ctx.node.options.machine),
    replaced: a.replaced,
    server_time: serverTime(),
  }
}

export const discover: Handler = (ctx) => {
  const agents = onlineAgents(ctx.node, localAgentsJson(ctx.node, ctx.store))
  return { agents, count: agents.length, server_time: serverTime() }
}

export const heartbeat: Handler = (ctx, body) => {
  const { agentId } = parseHeartbeat(body)
  if (ctx.store.heartbeat(agentId)) return { status: 'ok', server_time: serverTime() }
  return {
    status: 'unknown_agent',
    hint: `agent ${agentId} is not registered on this node: POST /register`,
    server_time: serverTime(),
  }
}

export const deregister: Handler = async (ctx, _body, param) => {
  const agentId = pathAgentId(param)
  if (!ctx.store.deregister(agentId))
    return { status: 'unknown_agent', agent_id: agentId, hint: `agent ${agentId} is not registered here` }
  ctx.node.log.emit('v1_agent_deregistered', { agent: agentId }, `v1 agent deregistered: ${agentId}`)
  await ctx.node.presence.announce().catch(() => {})
  return { status: 'deregistered', agent_id: agentId }
}
