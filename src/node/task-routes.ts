// Control API endpoints for tasks and the agent's inbox. Every field is checked here: the CLI is only
// one possible client of the socket.

import { TASK_ID_PATTERN, TASK_ID_RULE } from '../api/task-id.js'
import type {
  CancelRequest,
  DelegateRequest,
  EventType,
  Priority,
  RespondRequest,
  TaskJson,
  TaskState,
} from '../api/types.js'
import { ApiError, type ControlServer } from '../control/server.js'
import { limits, TaskError, type TaskRow } from '../protocols/tasks/index.js'
import { contextError } from '../protocols/tasks/validate.js'
import type { ClawLinkNode } from './clawlink-node.js'
import { pickByCap, resolveAgent } from './resolve-agent.js'
import { taskJson } from './task-json.js'

const PRIORITIES: Priority[] = ['low', 'normal', 'high', 'urgent']
const RESPONSE_STATES: Record<string, TaskState> = {
  working: 'working',
  in_progress: 'working',
  completed: 'completed',
  failed: 'failed',
  rejected: 'rejected',
}
/** Longest a single request may wait (delegate --wait, poll --wait). */
const MAX_WAIT = 24 * 3600 * 1000
const MAX_POLL_LIMIT = 1000

function object(body: unknown, fields: string[]): Record<string, unknown> {
  if (body == null || typeof body !== 'object' || Array.isArray(body))
    throw new ApiError(400, 'bad_request', 'expected a JSON object')
  const b = body as Record<string, unknown>
  for (const key of Object.keys(b))
    if (!fields.includes(key)) throw new ApiError(400, 'bad_request', `unknown field ${key}`)
  return b
}

function text(b: Record<string, unknown>, field: string, required: true): string
function text(b: Record<string, unknown>, field: string, required?: false): string | undefined
function text(b: Record<string, unknown>, field: string, required = false): string | undefined {
  const v = b[field]
  if (v == null) {
    if (required) throw new ApiError(400, 'bad_request', `${field} is required`)
    return undefined
  }
  if (typeof v !== 'string') throw new ApiError(400, 'bad_request', `${field} must be a string`)
  return v
}

function millis(b: Record<string, unknown>, field: string, max: number): number | undefined {
  const v = b[field]
  if (v == null) return undefined
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) {
    throw new ApiError(400, 'bad_request', `${field} must be a number of milliseconds from 0 to ${max}`)
  }
  return Math.round(v)
}

function queryMillis(raw: string | null, field: string): number {
  if (raw == null || raw === '') return 0
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0 || n > MAX_WAIT)
    throw new ApiError(400, 'bad_request', `${field} must be 0-${MAX_WAIT} ms`)
  return Math.round(n)
}

/** The HTTP status of a task error, for the control API and the v1 API alike. */
export function taskErrorStatus(err: TaskError): number {
  return {
    not_found: 404,
    ambiguous: 409,
    final: 409,
    invalid: 400,
    not_yours: 403,
    too_large: 413,
  }[err.code]
}

/** Maps task errors to HTTP statuses; anything else propagates as a 500. */
async function guard<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof TaskError) throw new ApiError(taskErrorStatus(err), err.code, err.message)
    throw err
  }
}

function parseDelegate(body: unknown, maxTaskSize: number): DelegateRequest {
  const b = object(body, ['to', 'cap', 'task', 'context', 'priority', 'ttl', 'wait', 'id'])
  const req: DelegateRequest = {
    id: text(b, 'id'),
    to: text(b, 'to'),
    cap: text(b, 'cap'),
    task: text(b, 'task', true),
    context: text(b, 'context'),
    priority: text(b, 'priority') as Priority | undefined,
    ttl: millis(b, 'ttl', limits.MAX_TTL),
    wait: millis(b, 'wait', MAX_WAIT),
  }
  if ((req.to == null) === (req.cap == null))
    throw new ApiError(400, 'bad_request', 'give exactly one of to and cap')
  if (req.priority != null && !PRIORITIES.includes(req.priority)) {
    throw new ApiError(400, 'bad_request', `priority must be one of ${PRIORITIES.join(', ')}`)
  }
  if (req.ttl != null && req.ttl < 1000) throw new ApiError(400, 'bad_request', 'ttl must be at least 1 s')
  const badContext = req.context != null ? contextError(req.context) : undefined
  if (badContext != null) throw new ApiError(400, 'bad_context', badContext)
  if (req.id != null && !TASK_ID_PATTERN.test(req.id))
    throw new ApiError(400, 'bad_request', `id must be ${TASK_ID_RULE}`)
  if (req.task.trim() === '') throw new ApiError(400, 'bad_request', 'task is empty')
  const size = Buffer.byteLength(req.task) + Buffer.byteLength(req.context ?? '')
  if (size > maxTaskSize) {
    throw new ApiError(413, 'too_large', `task and context are ${size} bytes; the limit is ${maxTaskSize}`)
  }
  return req
}

/** The task with this id that `pick` allows, or a clear error. */
function oneTask(rows: TaskRow[], id: string, what: string): TaskRow {
  if (rows.length === 1) return rows[0]!
  if (rows.length === 0) throw new TaskError('not_found', `no ${what} task ${id}`)
  throw new TaskError('ambiguous', `several ${what} tasks have the id ${id}; name the other agent with --to`)
}

export function registerTaskRoutes(server: ControlServer, node: ClawLinkNode): void {
  const json = (row: TaskRow): TaskJson =>
    taskJson(row, { id: node.peerId.toString(), name: node.localCard().name })

  const delegateNew = (r: DelegateRequest): Promise<TaskRow> => {
    const known = node.presence.peers()
    const self = node.peerId.toString()
    const peer = r.cap != null ? pickByCap(r.cap, known) : resolveAgent(r.to!, known, self)
    return node.tasks.delegate({
      id: r.id,
      peer: peer.id,
      peerName: peer.name,
      task: r.task,
      context: r.context ?? null,
      priority: r.priority ?? 'normal',
      ttl: r.ttl ?? limits.DEFAULT_TTL,
    })
  }

  server.route('POST', '/v1/tasks', (req) =>
    guard(async () => {
      const r = parseDelegate(req.body, node.tasks.maxTaskSize)
      // the same id again is the same request (a retry after a crash or a cut connection): its task
      const earlier = r.id != null ? node.taskStore.find(r.id).find((t) => t.direction === 'sent') : undefined
      if (earlier != null && earlier.task !== r.task)
        throw new ApiError(409, 'conflict', `task id ${r.id} is already used by another task`)
      const row = earlier ?? (await delegateNew(r))
      const final = r.wait != null && r.wait > 0 ? await node.tasks.waitFinal(row, r.wait, req.signal) : row
      return json(final)
    }),
  )

  server.route('GET', '/v1/tasks', (req) => {
    const id = req.query.get('id')
    const rows =
      id != null ? node.taskStore.find(id) : node.taskStore.list({ open: req.query.get('open') === '1' })
    return rows.map(json)
  })

  server.route('POST', '/v1/respond', (req) =>
    guard(async () => {
      const b = object(req.body, ['id', 'result', 'status', 'to'])
      const r: RespondRequest = {
        id: text(b, 'id', true),
        result: text(b, 'result', true),
        status: text(b, 'status') as RespondRequest['status'],
        to: text(b, 'to'),
      }
      const status = r.status ?? 'completed'
      // own keys only: 'constructor' or 'toString' are not states
      const state = Object.hasOwn(RESPONSE_STATES, status) ? RESPONSE_STATES[status] : undefined
      if (state == null)
        throw new ApiError(
          400,
          'bad_request',
          `status must be one of ${Object.keys(RESPONSE_STATES).join(', ')}`,
        )
      const all = node.taskStore.find(r.id)
      let received = all.filter((t) => t.direction === 'received')
      if (received.length === 0 && all.length > 0) {
        throw new TaskError(
          'not_yours',
          `task ${r.id} was delegated by this agent; only the agent it was sent to can respond`,
        )
      }
      if (r.to != null) {
        received = received.filter(
          (t) =>
            t.peer === r.to ||
            t.peer.startsWith(r.to!) ||
            t.peerName === r.to ||
            node.nameOf(t.peer) === r.to,
        )
        if (received.length === 0)
          throw new TaskError('not_yours', `task ${r.id} was not delegated by ${r.to}`)
      }
      const row = oneTask(received, r.id, 'received')
      return json(await node.tasks.respond(row, state, r.result))
    }),
  )

  server.route('POST', '/v1/cancel', (req) =>
    guard(async () => {
      const b = object(req.body, ['id', 'reason'])
      const r: CancelRequest = { id: text(b, 'id', true), reason: text(b, 'reason') }
      if (r.reason != null && Buffer.byteLength(r.reason) > limits.MAX_REASON_LENGTH) {
        throw new ApiError(400, 'bad_request', `reason over ${limits.MAX_REASON_LENGTH} bytes`)
      }
      const all = node.taskStore.find(r.id)
      const sent = all.filter((t) => t.direction === 'sent')
      if (sent.length === 0 && all.length > 0) {
        throw new TaskError(
          'not_yours',
          `task ${r.id} was delegated to this agent; only its delegator can cancel it (respond with --status rejected to decline)`,
        )
      }
      return json(await node.tasks.cancel(oneTask(sent, r.id, 'delegated'), r.reason ?? null))
    }),
  )

  server.route('GET', '/v1/poll', async (req) => {
    const waitMs = queryMillis(req.query.get('wait'), 'wait')
    const limit = Number(req.query.get('limit') ?? 100)
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_POLL_LIMIT) {
      throw new ApiError(400, 'bad_request', `limit must be 1-${MAX_POLL_LIMIT}`)
    }
    const types = req.query
      .get('types')
      ?.split(',')
      .filter((t) => t !== '') as EventType[] | undefined
    const peek = req.query.get('peek') === '1'
    const events = await node.inbox.poll({ limit, peek, waitMs, signal: req.signal, types, hold: !peek })
    if (!peek && events.length > 0) {
      const seqs = events.map((e) => e.seq)
      req.onSent((sent) => (sent ? node.inbox.confirm(seqs) : node.inbox.release(seqs)))
    }
    return events
  })
}
