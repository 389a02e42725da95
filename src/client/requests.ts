// What each command asks the node: the control API calls shared by the CLI commands and the MCP tools
// (src/mcp/), so the paths, query strings and timeouts live in one place. The node validates the values.
import { randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { chmod, rename, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { A2aAddRequest, A2aAgentJson } from '../api/a2a-outbound.js'
import type {
  BroadcastJson,
  BroadcastRequest,
  CancelRequest,
  DelegateRequest,
  EventJson,
  FileGetResponse,
  FileJson,
  FilePutRequest,
  FileVersionJson,
  PeerJson,
  Priority,
  ReplyRequest,
  RespondRequest,
  TaskJson,
} from '../api/types.js'
import type { ControlClient } from './control-client.js'

export const PRIORITIES: readonly Priority[] = ['low', 'normal', 'high', 'urgent']
export const RESPOND_STATUSES = [
  'working',
  'in_progress',
  'input-required',
  'completed',
  'failed',
  'rejected',
] as const

/** A long poll's socket outlives its wait by this much (ms), so the node answers before we give up. */
const WAIT_MARGIN = 30_000
/** A file put or get may move a large blob (or fetch it from a peer) before the node answers. */
const TRANSFER_TIMEOUT = 60 * 60_000

export interface Cancelable {
  /** aborting closes the request; the node treats it as a client that left */
  signal?: AbortSignal
}

export interface PeerQuery extends Cancelable {
  cap?: string
  all?: boolean
}

export function listPeers(api: ControlClient, q: PeerQuery = {}): Promise<PeerJson[]> {
  const query = new URLSearchParams()
  if (q.all === true) query.set('all', '1')
  if (q.cap != null) query.set('cap', q.cap)
  return api.get<PeerJson[]>(`/v1/peers?${query}`, { signal: q.signal })
}

/** Delegates a task; with `wait` (ms), resolves when it is final or the wait is over. */
export function delegateTask(
  api: ControlClient,
  req: DelegateRequest,
  opts: Cancelable = {},
): Promise<TaskJson> {
  return api.post<TaskJson>('/v1/tasks', req, { timeout: (req.wait ?? 0) + WAIT_MARGIN, signal: opts.signal })
}

export interface PollQuery extends Cancelable {
  /** ms to wait for an event when none is pending */
  wait?: number
  peek?: boolean
  limit?: number
  /**
   * ms the node holds the events for this client's `settleEvents`; unconfirmed by then, they go out
   * again. Without it they are seen once the node's answer has gone out.
   */
  lease?: number
}

/** How long a client that confirms what it got (the CLI, the MCP server) has to do so. */
export const POLL_LEASE = 60_000

export function pollEvents(api: ControlClient, q: PollQuery = {}): Promise<EventJson[]> {
  const wait = Math.round(q.wait ?? 0)
  const query = new URLSearchParams({ wait: String(wait), limit: String(q.limit ?? 100) })
  if (q.peek === true) query.set('peek', '1')
  if (q.lease != null && q.peek !== true) query.set('lease', String(q.lease))
  return api.get<EventJson[]>(`/v1/poll?${query}`, { timeout: wait + WAIT_MARGIN, signal: q.signal })
}

/** A leased poll's events reached the agent (`got`: seen for good) or did not (out again at once). */
export async function settleEvents(api: ControlClient, events: EventJson[], got: boolean): Promise<void> {
  if (events.length === 0) return
  await api.post(got ? '/v1/poll/confirm' : '/v1/poll/release', { seqs: events.map((e) => e.seq) })
}

/** The delegator's message on a task it sent (the answer to an input-required question). */
export function replyTask(api: ControlClient, req: ReplyRequest, opts: Cancelable = {}): Promise<TaskJson> {
  return api.post<TaskJson>('/v1/reply', req, { signal: opts.signal })
}

export function respondTask(
  api: ControlClient,
  req: RespondRequest,
  opts: Cancelable = {},
): Promise<TaskJson> {
  return api.post<TaskJson>('/v1/respond', req, { signal: opts.signal })
}

export function cancelTask(api: ControlClient, req: CancelRequest, opts: Cancelable = {}): Promise<TaskJson> {
  return api.post<TaskJson>('/v1/cancel', req, { signal: opts.signal })
}

export interface TaskQuery extends Cancelable {
  open?: boolean
  id?: string
}

export function listTasks(api: ControlClient, q: TaskQuery = {}): Promise<TaskJson[]> {
  const query = new URLSearchParams()
  if (q.open === true) query.set('open', '1')
  if (q.id != null) query.set('id', q.id)
  return api.get<TaskJson[]>(`/v1/tasks?${query}`, { signal: q.signal })
}

export function sendBroadcast(
  api: ControlClient,
  req: BroadcastRequest,
  opts: Cancelable = {},
): Promise<BroadcastJson> {
  return api.post<BroadcastJson>('/v1/broadcast', req, { signal: opts.signal })
}

export interface KnowledgeQuery extends Cancelable {
  topic?: string
  tag?: string
  /** author: name, PeerId or prefix */
  from?: string
  /** ms since the epoch */
  since?: number
  limit?: number
}

export function listKnowledge(api: ControlClient, q: KnowledgeQuery = {}): Promise<BroadcastJson[]> {
  const query = new URLSearchParams({ limit: String(q.limit ?? 100) })
  if (q.topic != null) query.set('topic', q.topic)
  if (q.tag != null) query.set('tag', q.tag)
  if (q.from != null) query.set('from', q.from)
  if (q.since != null) query.set('since', String(q.since))
  return api.get<BroadcastJson[]>(`/v1/knowledge?${query}`, { signal: q.signal })
}

/** ISO 8601, or a duration back from now (30m, 2h, 7d), as ms since the epoch; undefined if neither. */
export function parseSince(raw: string, now = Date.now()): number | undefined {
  const rel = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(raw.trim())
  if (rel != null) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd']
    return now - Number(rel[1]) * unit
  }
  const t = Date.parse(raw)
  return Number.isNaN(t) ? undefined : t
}

export interface FileQuery extends Cancelable {
  prefix?: string
  all?: boolean
}

export function listFiles(api: ControlClient, q: FileQuery = {}): Promise<FileJson[]> {
  const query = new URLSearchParams({ prefix: q.prefix ?? '' })
  if (q.all === true) query.set('all', '1')
  return api.get<FileJson[]>(`/v1/files?${query}`, { signal: q.signal })
}

export function fileHistory(
  api: ControlClient,
  key: string,
  opts: Cancelable = {},
): Promise<FileVersionJson[]> {
  return api.get<FileVersionJson[]>(`/v1/files/history?key=${encodeURIComponent(key)}`, {
    signal: opts.signal,
  })
}

/** Writes the file at `req.path` (absolute, readable by the node) into the map. */
export function putFile(api: ControlClient, req: FilePutRequest, opts: Cancelable = {}): Promise<FileJson> {
  return api.post<FileJson>('/v1/files/put', req, { timeout: TRANSFER_TIMEOUT, signal: opts.signal })
}

/**
 * Writes content that is not in a file (stdin, text from an MCP client) into the map, through a private
 * temporary file the node reads (the control API takes paths, so blobs never travel as JSON).
 */
export async function putContent(
  api: ControlClient,
  req: Omit<FilePutRequest, 'path'>,
  content: Readable | Uint8Array | string,
  opts: Cancelable = {},
): Promise<FileJson> {
  const temp = join(tmpdir(), `clawlink-put-${process.pid}-${randomBytes(4).toString('hex')}`)
  try {
    const out = createWriteStream(temp, { mode: 0o600 })
    if (typeof content === 'string' || content instanceof Uint8Array) {
      await new Promise<void>((resolve, reject) => {
        out.on('error', reject)
        out.end(content, () => resolve())
      })
    } else {
      await pipeline(content, out)
    }
    return await putFile(api, { ...req, path: temp }, opts)
  } finally {
    await rm(temp, { force: true })
  }
}

/** Has the node make the content local (fetching and verifying it if needed); resolves to where it is. */
export function getFile(
  api: ControlClient,
  req: { key: string; version?: number },
  opts: Cancelable = {},
): Promise<FileGetResponse> {
  return api.post<FileGetResponse>('/v1/files/get', req, { timeout: TRANSFER_TIMEOUT, signal: opts.signal })
}

/** Copies the node's content to `dest` atomically: readers never see a half-written file. */
export async function copyOut(source: string, dest: string, mode?: number): Promise<void> {
  const tmp = join(dirname(dest), `.${process.pid}-${randomBytes(4).toString('hex')}.clawlink.tmp`)
  // shared content may be private: a new file is the user's alone; a replaced one keeps its mode
  const final =
    mode ??
    (await stat(dest).then(
      (s) => s.mode & 0o777,
      () => 0o600,
    ))
  try {
    await pipeline(createReadStream(source), createWriteStream(tmp, { mode: 0o600 }))
    // exact, whatever the umask
    await chmod(tmp, final)
    await rename(tmp, dest)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}

/** External A2A agents registered with the node (`clawlink a2a`). */
export function listA2aAgents(api: ControlClient): Promise<A2aAgentJson[]> {
  return api.get<A2aAgentJson[]>('/v1/a2a/agents')
}

/** Registers an external A2A agent: the node reads its card first (so this may take a moment). */
export function addA2aAgent(api: ControlClient, req: A2aAddRequest): Promise<A2aAgentJson> {
  return api.post<A2aAgentJson>('/v1/a2a/agents', req, { timeout: 60_000 })
}

export function removeA2aAgent(api: ControlClient, name: string): Promise<{ removed: string }> {
  return api.post<{ removed: string }>('/v1/a2a/remove', { name })
}
