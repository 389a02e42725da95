// The v1 endpoints, each mapped onto the node: its task path (outbox, acks, retries, dedup), its
// broadcasts, its shared file map and its presence table. See docs/v1-compat.md.
import { readFile } from 'node:fs/promises'
import { TASK_ERROR_STATUS } from '../api/errors.js'
import type { ClawLinkNode } from '../core/index.js'
import { FileError, stateOf, validateKey } from '../protocols/files/index.js'
import { InvalidBroadcastError, PublishBacklogError } from '../protocols/knowledge/index.js'
import { TaskError, TERMINAL } from '../protocols/tasks/index.js'
import { VERSION } from '../version.js'
import { iso, localAgentsJson, remoteAgents } from './agents.js'
import { FROM_TAG_PREFIX, MAX_FILE_CONTENT, MAX_POLL, SERVICE, TASK_TTL } from './constants.js'
import { broadcastMessage, fileRecord, fileUpdated, mediaTypeFor } from './envelopes.js'
import { badRequest, V1Error } from './errors.js'
import type { V1Store } from './store.js'
import {
  parseBroadcast,
  parseDelegate,
  parseFile,
  parseHeartbeat,
  parseRegister,
  parseRespond,
  pathAgentId,
} from './validate.js'

export interface V1Context {
  node: ClawLinkNode
  store: V1Store
  authRequired: boolean
}

export type Handler = (ctx: V1Context, body: unknown, param: string) => unknown | Promise<unknown>

const ENDPOINTS = [
  'GET /',
  'POST /register',
  'GET /discover',
  'POST /heartbeat',
  'POST /delegate',
  'POST /respond',
  'POST /broadcast',
  'GET /poll/{agent_id}',
  'POST /files',
  'GET /files',
  'GET /files/{file_key}',
]

function registered(ctx: V1Context, agentId: string, field: string): void {
  if (!ctx.store.has(agentId))
    throw new V1Error(404, `unknown ${field} ${agentId}: register it on this node first (POST /register)`)
}

function taskError(err: unknown): never {
  if (err instanceof TaskError) {
    throw new V1Error(TASK_ERROR_STATUS[err.code] ?? 400, err.message)
  }
  throw err
}

const info: Handler = (ctx) => {
  const online =
    localAgentsJson(ctx.node, ctx.store).filter((a) => a.status === 'online').length +
    remoteAgents(ctx.node).filter((a) => a.online).length +
    ctx.node.presence.peers().filter((p) => p.status === 'online' && !p.card.relayOnly).length
  return {
    service: SERVICE,
    version: VERSION,
    api: 'v1',
    auth_required: ctx.authRequired,
    agents_online: online,
    shared_files: ctx.node.fileStore.list('').filter((s) => !s.winner.deleted).length,
    endpoints: ENDPOINTS,
    node: { peer_id: ctx.node.peerId.toString(), name: ctx.node.localCard().name },
  }
}

const register: Handler = async (ctx, body) => {
  const r = parseRegister(body)
  const a = ctx.store.register(r)
  ctx.node.log.emit(
    'v1_agent_registered',
    { agent: a.agentId, name: a.name, capabilities: a.capabilities },
    `v1 agent registered: ${a.name} (${a.agentId})`,
  )
  // other nodes learn of it with our card
  await ctx.node.presence.announce().catch(() => {})
  return {
    status: 'registered',
    agent: {
      agent_id: a.agentId,
      name: a.name,
      capabilities: a.capabilities,
      machine: a.machine,
      description: a.description,
      status: 'online',
      last_heartbeat: iso(a.lastHeartbeat),
      registered_at: iso(a.registeredAt),
      node: ctx.node.peerId.toString(),
    },
  }
}

const discover: Handler = (ctx) => {
  const local = localAgentsJson(ctx.node, ctx.store)
  const remote = remoteAgents(ctx.node)
    .filter((r) => !r.offline)
    .map((r) => r.json)
  const peers = ctx.node.presence
    .peers()
    .filter((p) => p.status !== 'offline' && !p.card.relayOnly)
    .map((p) => ({
      agent_id: p.id,
      name: p.card.name,
      capabilities: [...p.card.caps],
      machine: p.card.machine,
      description: p.card.description,
      status: p.status,
      last_heartbeat: iso(p.lastSeen),
      node: p.id,
      kind: 'node',
    }))
  const agents = [...local, ...remote, ...peers]
  return { agents, count: agents.length }
}

const heartbeat: Handler = (ctx, body) => {
  const { agentId } = parseHeartbeat(body)
  return { status: ctx.store.heartbeat(agentId) ? 'ok' : 'unknown_agent' }
}

const delegate: Handler = async (ctx, body) => {
  const { node, store } = ctx
  const r = parseDelegate(body, node.tasks.maxTaskSize)
  registered(ctx, r.fromAgent, 'from_agent')
  const timestamp = new Date().toISOString()
  if (store.has(r.toAgent)) {
    const id = store.delegateLocal(r.fromAgent, r.toAgent, (id) => ({
      type: 'task_delegation',
      message_id: id,
      from_agent: r.fromAgent,
      from_node: node.peerId.toString(),
      to_agent: r.toAgent,
      task: r.task,
      context: r.context == null ? {} : JSON.parse(r.context),
      priority: r.priority,
      timestamp,
    }))
    return { status: 'delegated', message_id: id, delivery: { route: 'local', state: 'delivered' } }
  }
  const self = node.peerId.toString()
  const candidates = remoteAgents(node).filter((a) => a.agentId === r.toAgent)
  let peer: { id: string; name: string }
  let toAgent: string | undefined
  if (candidates.length > 0) {
    // one node serving it, else the one that is up (an id may move between nodes)
    const pick =
      candidates.length === 1
        ? candidates
        : candidates.filter((c) => c.online).length > 0
          ? candidates.filter((c) => c.online)
          : candidates.filter((c) => !c.offline)
    if (pick.length !== 1)
      throw new V1Error(409, `several nodes serve a v1 agent ${r.toAgent}; it is ambiguous`)
    peer = { id: pick[0]!.peer, name: node.nameOf(pick[0]!.peer) ?? pick[0]!.peer.slice(0, 16) }
    toAgent = r.toAgent
  } else {
    if (r.toAgent === self || r.toAgent === node.localCard().name)
      throw badRequest(
        `${r.toAgent} is this node itself; delegate to one of its v1 agents or to another node`,
      )
    try {
      peer = node.taskService.resolve(r.toAgent)
    } catch (err) {
      if (err instanceof TaskError && err.code === 'not_found')
        throw new V1Error(404, `unknown agent ${r.toAgent}: not a v1 agent, PeerId or node name in the mesh`)
      taskError(err)
    }
  }
  let row: Awaited<ReturnType<typeof node.taskService.delegateFor>>
  try {
    row = await node.taskService.delegateFor({
      fromAgent: r.fromAgent,
      peer,
      toAgent,
      task: r.task,
      context: r.context,
      priority: r.priority,
      ttl: TASK_TTL,
    })
  } catch (err) {
    taskError(err)
  }
  return {
    status: 'delegated',
    message_id: row.id,
    delivery: {
      route: 'mesh',
      peer: peer.id,
      to_agent: toAgent ?? null,
      state: row.state,
      expires_at: iso(row.expiresAt),
    },
  }
}

const respond: Handler = async (ctx, body) => {
  const { node, store } = ctx
  const r = parseRespond(body, node.tasks.maxTaskSize)
  registered(ctx, r.fromAgent, 'from_agent')
  let answered: Awaited<ReturnType<typeof node.taskService.respondFor>>
  try {
    answered = await node.taskService.respondFor(r.fromAgent, r.messageId, r.status, r.result)
  } catch (err) {
    taskError(err)
  }
  if (answered != null) {
    return {
      status: 'response_sent',
      message_id: answered.id,
      delivery: { route: 'mesh', peer: answered.peer, to_agent: answered.fromAgent ?? null },
    }
  }
  const local = store.getLocalTask(r.messageId)
  if (local == null) throw new V1Error(404, `no task ${r.messageId} for this node's v1 agents`)
  if (local.toAgent !== r.fromAgent)
    throw new V1Error(403, `task ${r.messageId} was not delegated to ${r.fromAgent}`)
  if (TERMINAL.has(local.state)) throw new V1Error(409, `task ${r.messageId} is already ${local.state}`)
  store.answerLocal(local, r.status, {
    type: 'task_response',
    message_id: local.id,
    from_agent: r.fromAgent,
    from_node: node.peerId.toString(),
    to_agent: local.fromAgent,
    result: r.result,
    status: r.status,
    timestamp: new Date().toISOString(),
  })
  return {
    status: 'response_sent',
    message_id: local.id,
    delivery: { route: 'local', to_agent: local.fromAgent },
  }
}

const broadcast: Handler = async (ctx, body) => {
  const { node, store } = ctx
  const r = parseBroadcast(body)
  registered(ctx, r.fromAgent, 'from_agent')
  let published: Awaited<ReturnType<typeof node.knowledgeService.publish>>
  try {
    published = await node.knowledgeService.publish({
      content: r.content,
      topic: r.topic,
      tags: [...r.tags, `${FROM_TAG_PREFIX}${r.fromAgent}`],
    })
  } catch (err) {
    if (err instanceof InvalidBroadcastError) throw badRequest(err.message)
    if (err instanceof PublishBacklogError) throw new V1Error(429, err.message, err.retryAfter)
    throw err
  }
  // our own broadcasts make no inbox event: the other v1 agents of this node get it here
  const message = broadcastMessage({ ...published, time: iso(published.time) })
  store.transaction(() => store.fanOut(message, r.fromAgent))
  return { status: 'broadcast_sent', message_id: published.id }
}

const poll: Handler = (ctx, _body, param) => {
  const agentId = pathAgentId(param)
  registered(ctx, agentId, 'agent')
  const messages = ctx.store.take(agentId, MAX_POLL)
  return { messages, count: messages.length, remaining: ctx.store.queued(agentId) }
}

const putFile: Handler = async (ctx, body) => {
  const { node, store } = ctx
  const r = parseFile(body)
  try {
    validateKey(r.fileKey)
  } catch (err) {
    if (err instanceof FileError) throw badRequest(err.message)
    throw err
  }
  const bytes = Buffer.from(r.content, 'utf8')
  if (bytes.byteLength > node.files.maxFileSize)
    throw new V1Error(413, `content is over this node's file size limit (${node.files.maxFileSize} bytes)`)
  const w = await node.blobStore.writer(undefined, node.files.maxFileSize)
  try {
    await w.write(bytes)
    await w.finish()
  } catch (err) {
    await w.abort()
    throw err
  }
  const entry = await node.files.write(r.fileKey, {
    sha256: w.sha256(),
    size: bytes.byteLength,
    mediaType: mediaTypeFor(r.fileType, r.agentId),
  })
  const state = node.fileStore.state(r.fileKey)
  // own writes make no inbox event: the other v1 agents of this node are told here
  if (state != null && state.winner.id === entry.id) {
    store.transaction(() => store.fanOut(fileUpdated(state.winner), r.agentId))
  }
  return { status: 'saved', file_key: r.fileKey, version: entry.version }
}

const getFile: Handler = async (ctx, _body, param) => {
  const { node } = ctx
  try {
    validateKey(param)
  } catch (err) {
    if (err instanceof FileError) throw new V1Error(404, 'file not found')
    throw err
  }
  const state = stateOf(param, node.fileStore.history(param))
  if (state == null || state.winner.deleted) throw new V1Error(404, 'file not found')
  const w = state.winner
  if (w.size > MAX_FILE_CONTENT)
    throw new V1Error(
      413,
      `${param} is ${w.size} bytes; the v1 API serves up to ${MAX_FILE_CONTENT} (use clawlink file-get)`,
    )
  const blob = await node.files.ensureBlob(w.sha256, w.size, w.author)
  if (!blob.ok) throw new V1Error(503, `the content of ${param} is not on this node yet and ${blob.reason}`)
  const content = await readFile(node.blobStore.path(w.sha256), 'utf8')
  return { ...fileRecord(w, state.conflict), content }
}

const listFiles: Handler = (ctx) => {
  const files = ctx.node.fileStore
    .list('')
    .filter((s) => !s.winner.deleted)
    .map((s) => fileRecord(s.winner, s.conflict))
  return { files, count: files.length }
}

/** Exact routes; `prefix` routes take the rest of the path (decoded) as their parameter. */
export const ROUTES: Array<{
  method: string
  path: string
  prefix?: boolean
  auth: boolean
  handler: Handler
}> = [
  { method: 'GET', path: '/', auth: false, handler: info },
  { method: 'POST', path: '/register', auth: true, handler: register },
  { method: 'GET', path: '/discover', auth: true, handler: discover },
  { method: 'POST', path: '/heartbeat', auth: true, handler: heartbeat },
  { method: 'POST', path: '/delegate', auth: true, handler: delegate },
  { method: 'POST', path: '/respond', auth: true, handler: respond },
  { method: 'POST', path: '/broadcast', auth: true, handler: broadcast },
  { method: 'GET', path: '/poll/', prefix: true, auth: true, handler: poll },
  { method: 'POST', path: '/files', auth: true, handler: putFile },
  { method: 'GET', path: '/files', auth: true, handler: listFiles },
  { method: 'GET', path: '/files/', prefix: true, auth: true, handler: getFile },
]
