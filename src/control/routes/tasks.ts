// Control API endpoints for tasks and the agent's inbox: every field is parsed and checked here (the
// CLI is only one possible client of the socket); the task rules are core's TaskService.

import { TASK_ERROR_STATUS } from '../../api/errors.js'
import { TASK_ID_PATTERN, TASK_ID_RULE } from '../../api/task-id.js'
import type {
  CancelRequest,
  DelegateBatchJson,
  DelegateRequest,
  EventType,
  Priority,
  ReplyRequest,
  RespondRequest,
  TaskJson,
  TaskState,
} from '../../api/types.js'
import { type ClawLinkNode, ConflictError } from '../../core/index.js'
import { limits, TaskError, type TaskRow } from '../../protocols/tasks/index.js'
import { contextError } from '../../protocols/tasks/validate.js'
import { ApiError, type ControlServer } from '../server.js'

const PRIORITIES: Priority[] = ['low', 'normal', 'high', 'urgent']
const RESPONSE_STATES: Record<string, TaskState> = {
  working: 'working',
  in_progress: 'working',
  'input-required': 'input-required',
  input_required: 'input-required',
  completed: 'completed',
  failed: 'failed',
  rejected: 'rejected',
}
/** Longest a single request may wait (delegate --wait, poll --wait). */
const MAX_WAIT = 24 * 3600 * 1000
const MAX_POLL_LIMIT = 1000
/** A poll's `lease` (ms): how long events wait for the client's confirmation before going out again. */
const MIN_LEASE = 1_000
const MAX_LEASE = 600_000
/** Most tasks in one batch delegation. */
export const MAX_BATCH = 1000

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

/** Maps task rule errors to HTTP statuses; anything else propagates as a 500. */
async function guard<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof TaskError || err instanceof ConflictError)
      throw new ApiError(TASK_ERROR_STATUS[err.code] ?? 400, err.code, err.message)
    throw err
  }
}

/** A batch: every task is checked before any is delegated (a malformed one refuses the request). */
function parseBatch(body: unknown): DelegateRequest[] {
  const b = object(body, ['tasks'])
  const tasks = b.tasks
  if (!Array.isArray(tasks) || tasks.length === 0 || tasks.length > MAX_BATCH)
    throw new ApiError(400, 'bad_request', `tasks must be an array of 1 to ${MAX_BATCH} tasks`)
  return tasks.map((t, i) => {
    try {
      return parseDelegate(t, false)
    } catch (err) {
      if (err instanceof ApiError) throw new ApiError(err.status, err.code, `tasks[${i}]: ${err.message}`)
      throw err
    }
  })
}

function parseDelegate(body: unknown, waits = true): DelegateRequest {
  const fields = ['to', 'cap', 'task', 'context', 'priority', 'ttl', 'id']
  const b = object(body, waits ? [...fields, 'wait'] : fields)
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
  return req
}

export function registerTaskRoutes(server: ControlServer, node: ClawLinkNode): void {
  const json = (row: TaskRow): TaskJson => node.taskService.json(row)

  server.route('POST', '/v1/tasks', (req) =>
    guard(async () => {
      const r = parseDelegate(req.body)
      const row = await node.taskService.delegate(r)
      const final = r.wait != null && r.wait > 0 ? await node.tasks.waitFinal(row, r.wait, req.signal) : row
      return json(final)
    }),
  )

  // many tasks in one request: delegated together, so they share the group commit (and its fsync);
  // each gets its outcome, a task rule's refusal only for itself
  server.route('POST', '/v1/tasks/batch', async (req): Promise<DelegateBatchJson> => {
    const requests = parseBatch(req.body)
    const outcomes = await Promise.allSettled(requests.map((r) => node.taskService.delegate(r)))
    const results = outcomes.map((o) => {
      if (o.status === 'fulfilled') return { task: json(o.value) }
      const err = o.reason as unknown
      if (err instanceof TaskError || err instanceof ConflictError)
        return { error: { code: err.code, message: err.message } }
      // anything else (the store failed) fails the request, as it would a single delegation
      throw err
    })
    return { results }
  })

  server.route('GET', '/v1/tasks', (req) => {
    const id = req.query.get('id')
    // one task asked for by id: with every state it has been in (a listing stays one query)
    if (id != null)
      return node.taskStore.find(id).map((row) => ({
        ...json(row),
        history: node.taskStore
          .history(row)
          .map((h) => ({ state: h.state, at: new Date(h.at).toISOString() })),
      }))
    return node.taskStore.list({ open: req.query.get('open') === '1' }).map(json)
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
      return json(await node.taskService.respond(r.id, state, r.result, r.to))
    }),
  )

  server.route('POST', '/v1/reply', (req) =>
    guard(async () => {
      const b = object(req.body, ['id', 'message', 'to'])
      const r: ReplyRequest = {
        id: text(b, 'id', true),
        message: text(b, 'message', true),
        to: text(b, 'to'),
      }
      if (r.message.trim() === '') throw new ApiError(400, 'bad_request', 'message is empty')
      return json(await node.taskService.reply(r.id, r.message, r.to))
    }),
  )

  server.route('POST', '/v1/cancel', (req) =>
    guard(async () => {
      const b = object(req.body, ['id', 'reason'])
      const r: CancelRequest = { id: text(b, 'id', true), reason: text(b, 'reason') }
      if (r.reason != null && Buffer.byteLength(r.reason) > limits.MAX_REASON_LENGTH) {
        throw new ApiError(400, 'bad_request', `reason over ${limits.MAX_REASON_LENGTH} bytes`)
      }
      return json(await node.taskService.cancel(r.id, r.reason ?? null))
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
    const leaseRaw = req.query.get('lease')
    const lease = leaseRaw == null || leaseRaw === '' ? undefined : Number(leaseRaw)
    if (lease != null && (!Number.isInteger(lease) || lease < MIN_LEASE || lease > MAX_LEASE)) {
      throw new ApiError(400, 'bad_request', `lease must be ${MIN_LEASE}-${MAX_LEASE} ms`)
    }
    const events = await node.inbox.poll({ limit, peek, waitMs, signal: req.signal, types, hold: !peek })
    if (!peek && events.length > 0) {
      const seqs = events.map((e) => e.seq)
      // sent in full: seen, or with a lease held until the client confirms; not sent: out again
      req.onSent((sent) => {
        if (!sent) node.inbox.release(seqs)
        else if (lease != null) node.inbox.lease(seqs, lease)
        else node.inbox.confirm(seqs)
      })
    }
    return events
  })

  // a leased poll's events: the client has them (confirm) or lost them (release, out again at once)
  for (const [path, settle] of [
    ['/v1/poll/confirm', (seqs: number[]) => node.inbox.confirm(seqs)],
    ['/v1/poll/release', (seqs: number[]) => node.inbox.release(seqs)],
  ] as const) {
    server.route('POST', path, async (req) => {
      const seqs = object(req.body, ['seqs']).seqs
      if (
        !Array.isArray(seqs) ||
        seqs.length === 0 ||
        seqs.length > MAX_POLL_LIMIT ||
        !seqs.every((n) => Number.isSafeInteger(n) && n > 0)
      ) {
        throw new ApiError(400, 'bad_request', `seqs must be 1-${MAX_POLL_LIMIT} event seq numbers`)
      }
      settle(seqs as number[])
      return { ok: true }
    })
  }
}
