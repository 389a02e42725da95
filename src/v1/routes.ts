// The v1 endpoints, each mapped onto the node: its task path (outbox, acks, retries, dedup), its
// broadcasts, its shared file map and its presence table. See docs/v1-compat.md.
import { readFile } from 'node:fs/promises'
import { TASK_ERROR_STATUS } from '../api/errors.js'
import type { ClawLinkNode } from '../core/index.js'
import { FileError, stateOf, validateKey } from '../protocols/files/index.js'
import { InvalidBroadcastError, PublishBacklogError } from '../protocols/knowledge/index.js'
import { TaskError, TERMINAL } from '../protocols/tasks/index.js'
import { newId } from '../rules/ids.js'
import { deregister, discover, heartbeat, info, register } from './agent-routes.js'
import { iso, remoteAgents } from './agents.js'
import { MAX_FILE_CONTENT, MAX_POLL, TASK_TTL, V1_STATUS_PREFIX } from './constants.js'
import { fileRecord, mediaTypeFor } from './envelopes.js'
import { badRequest, V1Error } from './errors.js'
import { copyToNamed } from './respond-copy.js'
import { shortId, type V1Store } from './store.js'
import { parseBroadcast, parseDelegate, parseFile, parseRespond, pathAgentId } from './validate.js'

export interface V1Context {
  node: ClawLinkNode
  store: V1Store
  authRequired: boolean
}

export type Handler = (ctx: V1Context, body: unknown, param: string) => unknown | Promise<unknown>

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

const delegate: Handler = async (ctx, body) => {
  const { node, store } = ctx
  const r = parseDelegate(body, node.tasks.maxTaskSize)
  registered(ctx, r.fromAgent, 'from_agent')
  const timestamp = new Date().toISOString()
  if (store.has(r.toAgent)) {
    const { id, short } = store.delegateLocal(r.fromAgent, r.toAgent, (short, id) => ({
      type: 'task_delegation',
      message_id: short,
      task_id: id,
      from_agent: r.fromAgent,
      from_node: node.peerId.toString(),
      to_agent: r.toAgent,
      task: r.task,
      context: r.context == null ? {} : JSON.parse(r.context),
      priority: r.priority,
      timestamp,
    }))
    // v1: "delivered" when the target could take it at once; a local agent's queue is that
    return {
      status: 'delegated',
      message_id: short,
      delivery: 'delivered',
      task_id: id,
      route: { route: 'local', state: 'delivered' },
    }
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
  const short = store.transaction(() => store.rememberShort(row.id))
  return {
    status: 'delegated',
    message_id: short,
    // v1's word for a message waiting for its recipient: the mesh keeps it until it is acknowledged
    delivery: row.state === 'submitted' ? 'queued' : 'delivered',
    task_id: row.id,
    route: {
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
  const taskId = store.taskIdOf(r.messageId)
  // a status word the mesh has no state for travels in the UPDATE's reason, to reach the delegator as sent
  const reason = r.v1Status === r.status ? null : `${V1_STATUS_PREFIX}${r.v1Status}`
  const responseId = shortId(newId())
  let answered: Awaited<ReturnType<typeof node.taskService.respondFor>>
  try {
    answered = await node.taskService.respondFor(r.fromAgent, taskId, r.status, r.result, reason)
  } catch (err) {
    taskError(err)
  }
  const sent = { responseId, fromAgent: r.fromAgent, result: r.result, v1Status: r.v1Status }
  if (answered != null) {
    return {
      status: 'response_sent',
      response_id: responseId,
      message_id: r.messageId,
      task_id: answered.id,
      route: { route: 'mesh', peer: answered.peer, to_agent: answered.fromAgent ?? null },
      ...(await copyToNamed(ctx, r.toAgent, {
        ...sent,
        taskId: answered.id,
        delegator: { agent: answered.fromAgent ?? undefined, peer: answered.peer },
      })),
    }
  }
  const local = store.getLocalTask(taskId)
  // v1 answered 200 whatever the id; a v1 script must not crash on an id this node does not know
  if (local == null)
    return {
      status: 'unknown_message',
      message_id: r.messageId,
      hint: `no task ${r.messageId} for this node's v1 agents: nothing was sent`,
    }
  if (local.toAgent !== r.fromAgent)
    throw new V1Error(403, `task ${r.messageId} was not delegated to ${r.fromAgent}`)
  if (TERMINAL.has(local.state)) throw new V1Error(409, `task ${r.messageId} is already ${local.state}`)
  store.answerLocal(local, r.status, {
    type: 'task_response',
    message_id: shortId(local.id),
    task_id: local.id,
    response_id: responseId,
    from_agent: r.fromAgent,
    from_node: node.peerId.toString(),
    to_agent: local.fromAgent,
    result: r.result,
    status: r.v1Status,
    timestamp: new Date().toISOString(),
  })
  return {
    status: 'response_sent',
    response_id: responseId,
    message_id: r.messageId,
    task_id: local.id,
    route: { route: 'local', to_agent: local.fromAgent },
    ...(await copyToNamed(ctx, r.toAgent, {
      ...sent,
      taskId: local.id,
      delegator: { agent: local.fromAgent, peer: node.peerId.toString() },
    })),
  }
}

const broadcast: Handler = async (ctx, body) => {
  const { node } = ctx
  const r = parseBroadcast(body)
  registered(ctx, r.fromAgent, 'from_agent')
  let published: Awaited<ReturnType<typeof node.knowledgeService.publish>>
  try {
    published = await node.knowledgeService.publish({
      content: r.content,
      topic: r.topic,
      tags: r.tags,
      fromHostedAgent: r.fromAgent,
    })
  } catch (err) {
    if (err instanceof InvalidBroadcastError) throw badRequest(err.message)
    if (err instanceof PublishBacklogError) throw new V1Error(429, err.message, err.retryAfter)
    throw err
  }
  // the other v1 agents of this node got it with the store write (V1Api.onInboxAppend)
  return { status: 'broadcast_sent', message_id: published.id }
}

const poll: Handler = (ctx, _body, param) => {
  const agentId = pathAgentId(param)
  // as in v1: a poll is a heartbeat, and an unknown agent gets an empty answer, not an error
  if (!ctx.store.heartbeat(agentId))
    return {
      messages: [],
      count: 0,
      remaining: 0,
      hint: `agent ${agentId} is not registered on this node: POST /register`,
    }
  const messages = ctx.store.take(agentId, MAX_POLL)
  return { messages, count: messages.length, remaining: ctx.store.queued(agentId) }
}

const putFile: Handler = async (ctx, body) => {
  const { node } = ctx
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
    mediaType: mediaTypeFor(r.fileType),
    // the editor is signed into the entry; a media type parameter would be anyone's to write
    hostedEditor: r.agentId,
  })
  // the other v1 agents of this node were told with the store write (V1Api.onInboxAppend)
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
  { method: 'GET', path: '/', auth: true, handler: info },
  { method: 'POST', path: '/register', auth: true, handler: register },
  { method: 'GET', path: '/discover', auth: true, handler: discover },
  { method: 'POST', path: '/heartbeat', auth: true, handler: heartbeat },
  { method: 'POST', path: '/delegate', auth: true, handler: delegate },
  { method: 'POST', path: '/respond', auth: true, handler: respond },
  { method: 'POST', path: '/broadcast', auth: true, handler: broadcast },
  { method: 'GET', path: '/poll/', prefix: true, auth: true, handler: poll },
  { method: 'DELETE', path: '/agents/', prefix: true, auth: true, handler: deregister },
  { method: 'POST', path: '/files', auth: true, handler: putFile },
  { method: 'GET', path: '/files', auth: true, handler: listFiles },
  { method: 'GET', path: '/files/', prefix: true, auth: true, handler: getFile },
]
