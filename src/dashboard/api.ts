// The dashboard's JSON API: each route is one or a few control API calls on the chosen node, through
// src/client (never the node's internals). Inputs are only shaped here; the node validates them.
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import type { ControlInfo, DelegateRequest, RespondRequest } from '../api/types.js'
import { ControlClient } from '../client/control-client.js'
import { ClientError } from '../client/errors.js'
import {
  cancelTask,
  delegateTask,
  fileHistory,
  getFile,
  listFiles,
  listKnowledge,
  listPeers,
  listTasks,
  putContent,
  respondTask,
  sendBroadcast,
} from '../client/requests.js'
import { type NodeSelection, runningNodes, selectNode } from '../client/select-node.js'
import { clawlinkHome } from '../home/paths.js'

export class BadRequestError extends Error {
  override name = 'BadRequestError'
}

/** A file shown as text (view, diff) is cut here; a download has no such limit. */
export const MAX_TEXT_VIEW = 1024 * 1024
/** Broadcasts a first render shows. */
const FEED_LIMIT = 1000

export interface ApiContext {
  sel: NodeSelection
  env: NodeJS.ProcessEnv
}

export interface ApiCall {
  method: string
  path: string
  query: URLSearchParams
  body: unknown
  res: ServerResponse
}

const clients = new Map<string, ControlClient>()

/** The node a request names (`node` = one of the running nodes' data dirs), else the default selection. */
export function nodeFor(ctx: ApiContext, query: URLSearchParams): ControlInfo {
  const dir = query.get('node')
  if (dir != null && dir !== '') {
    const found = runningNodes(clawlinkHome(ctx.env)).find((n) => n.dataDir === dir)
    if (found == null) throw new ClientError('that node is not running (any more)')
    return found
  }
  return selectNode(ctx.sel, ctx.env)
}

function client(info: ControlInfo): ControlClient {
  const label = `${info.name} (${info.dataDir})`
  let c = clients.get(info.dataDir)
  if (c == null || c.socket !== info.socket) {
    c?.close()
    c = new ControlClient(info.socket, label, { keepAlive: true, maxConnections: 6 })
    clients.set(info.dataDir, c)
  }
  return c
}

export function closeClients(): void {
  for (const c of clients.values()) c.close()
  clients.clear()
}

function obj(body: unknown): Record<string, unknown> {
  if (body == null || typeof body !== 'object' || Array.isArray(body))
    throw new BadRequestError('expected a JSON object')
  return body as Record<string, unknown>
}

function str(b: Record<string, unknown>, field: string, required = false): string | undefined {
  const v = b[field]
  if (v == null || v === '') {
    if (required) throw new BadRequestError(`${field} is required`)
    return undefined
  }
  if (typeof v !== 'string') throw new BadRequestError(`${field} must be a string`)
  return v
}

function version(raw: unknown): number | undefined {
  if (raw == null || raw === '') return undefined
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < 0) throw new BadRequestError('version must be a version number')
  return n
}

/** Answers one API call; returns the JSON to send, or undefined when it wrote the response itself. */
export async function handleApi(ctx: ApiContext, call: ApiCall): Promise<unknown> {
  const { query } = call
  const route = `${call.method} ${call.path}`
  if (route === 'GET /api/nodes') {
    let current: string | undefined
    try {
      current = selectNode(ctx.sel, ctx.env).dataDir
    } catch {}
    return runningNodes(clawlinkHome(ctx.env)).map((n) => ({
      name: n.name,
      dataDir: n.dataDir,
      pid: n.pid,
      version: n.version,
      startedAt: n.startedAt,
      default: n.dataDir === current,
    }))
  }
  const info = nodeFor(ctx, query)
  const api = client(info)
  switch (route) {
    case 'GET /api/snapshot': {
      const [status, peers, tasks, knowledge, files] = await Promise.all([
        api.get('/v1/status'),
        listPeers(api, { all: true }),
        listTasks(api),
        listKnowledge(api, { limit: FEED_LIMIT }),
        listFiles(api, { all: true }),
      ])
      return { node: { name: info.name, dataDir: info.dataDir }, status, peers, tasks, knowledge, files }
    }
    case 'GET /api/status':
      return api.get('/v1/status')
    case 'GET /api/peers':
      return listPeers(api, { all: true })
    case 'GET /api/tasks':
      return listTasks(api, { id: query.get('id') ?? undefined })
    case 'GET /api/knowledge':
      return listKnowledge(api, {
        limit: FEED_LIMIT,
        topic: query.get('topic') || undefined,
        tag: query.get('tag') || undefined,
      })
    case 'GET /api/files':
      return listFiles(api, { all: true })
    case 'GET /api/files/history':
      return fileHistory(api, query.get('key') ?? '')
    case 'GET /api/files/text':
      return fileText(api, query)
    case 'GET /api/files/download':
      await download(api, query, call.res)
      return undefined
    case 'POST /api/delegate': {
      const b = obj(call.body)
      const req: DelegateRequest = {
        to: str(b, 'to'),
        cap: str(b, 'cap'),
        task: str(b, 'task', true)!,
        context: str(b, 'context'),
        priority: str(b, 'priority') as DelegateRequest['priority'],
      }
      return delegateTask(api, req)
    }
    case 'POST /api/respond': {
      const b = obj(call.body)
      const req: RespondRequest = {
        id: str(b, 'id', true)!,
        result: str(b, 'result') ?? '',
        status: str(b, 'status') as RespondRequest['status'],
      }
      return respondTask(api, req)
    }
    case 'POST /api/cancel': {
      const b = obj(call.body)
      return cancelTask(api, { id: str(b, 'id', true)!, reason: str(b, 'reason') })
    }
    case 'POST /api/broadcast': {
      const b = obj(call.body)
      const tags = b.tags
      if (tags != null && (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')))
        throw new BadRequestError('tags must be a list of strings')
      return sendBroadcast(api, {
        content: str(b, 'content', true)!,
        topic: str(b, 'topic'),
        tags: tags as string[] | undefined,
      })
    }
    case 'POST /api/files/put': {
      const b = obj(call.body)
      const base64 = str(b, 'base64')
      const text = typeof b.text === 'string' ? b.text : undefined
      if ((base64 == null) === (text == null))
        throw new BadRequestError('give exactly one of text and base64')
      const content = base64 != null ? Buffer.from(base64, 'base64') : Buffer.from(text!, 'utf8')
      // compare-and-swap: the version the page showed; the node refuses if another came meanwhile
      return putContent(
        api,
        { key: str(b, 'key', true)!, base: version(b.base), type: str(b, 'type') },
        content,
      )
    }
    default:
      return NOT_FOUND
  }
}

export const NOT_FOUND = Symbol('not found')

async function fileText(api: ControlClient, query: URLSearchParams): Promise<unknown> {
  const got = await getFile(api, { key: query.get('key') ?? '', version: version(query.get('version')) })
  if (got.file.deleted) return { file: got.file, text: '', truncated: false }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of createReadStream(got.path, { end: MAX_TEXT_VIEW })) {
    chunks.push(chunk as Buffer)
    size += (chunk as Buffer).length
  }
  const bytes = Buffer.concat(chunks).subarray(0, MAX_TEXT_VIEW)
  return { file: got.file, text: bytes.toString('utf8'), truncated: size > MAX_TEXT_VIEW }
}

/** Sends a version's bytes as an attachment: never shown inline, so untrusted content is not a page. */
async function download(api: ControlClient, query: URLSearchParams, res: ServerResponse): Promise<void> {
  const got = await getFile(api, { key: query.get('key') ?? '', version: version(query.get('version')) })
  if (got.file.deleted) throw new BadRequestError('that version is a deletion: it has no content')
  const size = (await stat(got.path)).size
  const base = got.file.key.split('/').pop() ?? 'file'
  const ascii = base.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) || 'file'
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': String(size),
    'content-disposition': `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(base)}`,
  })
  for await (const chunk of createReadStream(got.path)) {
    if (!res.write(chunk)) await new Promise((r) => res.once('drain', r))
  }
  res.end()
}
