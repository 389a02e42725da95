// Field-by-field checks of v1 request bodies. v1 clients may send fields we do not use: those are
// ignored (as the v1 relay did); the fields we use must have the right type and size.
import type { Priority, TaskState } from '../api/types.js'
import { contextError } from '../protocols/tasks/validate.js'
import { CONTROL_RE } from '../rules/card.js'
import { MAX_TAG_LENGTH, MAX_TAGS } from '../rules/limits.js'
import {
  MAX_AGENT_ID_LENGTH,
  MAX_CAPABILITIES,
  MAX_CAPABILITY_LENGTH,
  MAX_DESCRIPTION_LENGTH,
  MAX_FILE_CONTENT,
  MAX_FILE_TYPE_LENGTH,
  MAX_MACHINE_LENGTH,
  MAX_NAME_LENGTH,
  MAX_STATUS_LENGTH,
  MAX_TARGET_LENGTH,
} from './constants.js'
import { badRequest, V1Error } from './errors.js'

/** v1 agent ids: short tokens that also fit in a broadcast tag and a media type parameter. */
export const AGENT_ID_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/
/** to_agent may also be a PeerId or node name. */
const TARGET_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/
const FILE_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/
// biome-ignore lint/suspicious/noControlCharactersInRegex: the knowledge protocol's tag rule
const TAG_BAD = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069,]/

const PRIORITIES: Record<string, Priority> = {
  low: 'low',
  normal: 'normal',
  medium: 'normal',
  high: 'high',
  urgent: 'urgent',
  critical: 'urgent',
}
const STATUSES: Record<string, TaskState> = {
  completed: 'completed',
  complete: 'completed',
  success: 'completed',
  done: 'completed',
  failed: 'failed',
  error: 'failed',
  working: 'working',
  in_progress: 'working',
  rejected: 'rejected',
}

export interface RegisterBody {
  agentId: string
  name: string
  capabilities: string[]
  machine: string
  description: string
}

export interface DelegateBody {
  fromAgent: string
  toAgent: string
  task: string
  /** JSON text, null for none */
  context: string | null
  priority: Priority
}

export interface RespondBody {
  fromAgent: string
  toAgent?: string
  messageId: string
  result: string
  /** the mesh state it maps to: a known word, else `working` (more answers may follow) */
  status: TaskState
  /** the status word as the v1 client sent it, handed to the delegator unchanged */
  v1Status: string
}

export interface BroadcastBody {
  fromAgent: string
  content: string
  topic: string
  tags: string[]
}

export interface FileBody {
  fileKey: string
  content: string
  agentId: string
  fileType: string
}

export function object(body: unknown): Record<string, unknown> {
  if (body == null || typeof body !== 'object' || Array.isArray(body))
    throw badRequest('the body must be a JSON object')
  return body as Record<string, unknown>
}

function optionalString(b: Record<string, unknown>, field: string): string | undefined {
  const v = b[field]
  if (v == null) return undefined
  if (typeof v !== 'string') throw badRequest(`${field} must be a string`)
  return v
}

function string(b: Record<string, unknown>, field: string): string {
  const v = optionalString(b, field)
  if (v == null || v === '') throw badRequest(`${field} is required`)
  return v
}

function text(field: string, value: string, max: number): string {
  if (value.length > max) throw badRequest(`${field} is longer than ${max} characters`)
  if (CONTROL_RE.test(value)) throw badRequest(`${field} contains control characters`)
  return value
}

export function agentId(b: Record<string, unknown>, field: string): string {
  const id = string(b, field)
  if (id.length > MAX_AGENT_ID_LENGTH || !AGENT_ID_RE.test(id))
    throw badRequest(
      `${field} must be 1-${MAX_AGENT_ID_LENGTH} letters, digits, '.', '_' or '-' (not starting with '.' or '-')`,
    )
  return id
}

/** An agent id from a URL path segment (already decoded). */
export function pathAgentId(raw: string): string {
  return agentId({ agent_id: raw }, 'agent_id')
}

function target(b: Record<string, unknown>, field: string): string {
  const id = string(b, field)
  if (id.length > MAX_TARGET_LENGTH || !TARGET_RE.test(id))
    throw badRequest(`${field} must be a v1 agent id, a PeerId or a node name`)
  return id
}

export function parseRegister(body: unknown): RegisterBody {
  const b = object(body)
  const name = text('name', string(b, 'name').trim(), MAX_NAME_LENGTH)
  if (name === '') throw badRequest('name is required')
  let caps: unknown = b.capabilities ?? []
  // some v1 clients sent "a,b,c"
  if (typeof caps === 'string')
    caps = caps
      .split(',')
      .map((c) => c.trim())
      .filter((c) => c !== '')
  if (!Array.isArray(caps) || !caps.every((c) => typeof c === 'string'))
    throw badRequest('capabilities must be an array of strings')
  const capabilities = [...new Set(caps as string[])]
  if (capabilities.length > MAX_CAPABILITIES) throw badRequest(`at most ${MAX_CAPABILITIES} capabilities`)
  for (const c of capabilities) {
    if (c === '') throw badRequest('capabilities must not be empty strings')
    text('capability', c, MAX_CAPABILITY_LENGTH)
  }
  return {
    agentId: agentId(b, 'agent_id'),
    name,
    capabilities,
    machine: text('machine', optionalString(b, 'machine') ?? '', MAX_MACHINE_LENGTH),
    description: text('description', optionalString(b, 'description') ?? '', MAX_DESCRIPTION_LENGTH),
  }
}

export function parseHeartbeat(body: unknown): { agentId: string } {
  return { agentId: agentId(object(body), 'agent_id') }
}

export function parseDelegate(body: unknown, maxTaskSize: number): DelegateBody {
  const b = object(body)
  const task = string(b, 'task')
  if (task.trim() === '') throw badRequest('task is empty')
  let context: string | null = null
  if (b.context != null) {
    try {
      context = JSON.stringify(b.context)
    } catch {
      throw badRequest('context cannot be stored as JSON')
    }
    const bad = contextError(context)
    if (bad != null) throw badRequest(bad)
  }
  const size = Buffer.byteLength(task) + (context == null ? 0 : Buffer.byteLength(context))
  if (size > maxTaskSize) throw badRequest(`task and context are ${size} bytes; the limit is ${maxTaskSize}`)
  const p = optionalString(b, 'priority')?.toLowerCase() ?? 'normal'
  const priority = Object.hasOwn(PRIORITIES, p) ? PRIORITIES[p] : undefined
  if (priority == null) throw badRequest('priority must be one of low, normal, medium, high, urgent')
  return { fromAgent: agentId(b, 'from_agent'), toAgent: target(b, 'to_agent'), task, context, priority }
}

export function parseRespond(body: unknown, maxTaskSize: number): RespondBody {
  const b = object(body)
  const raw = b.result
  if (raw === undefined) throw badRequest('result is required')
  // v1 results were free-form: keep text as it is, anything else as JSON text
  const result = typeof raw === 'string' ? raw : JSON.stringify(raw)
  if (Buffer.byteLength(result) > maxTaskSize) throw badRequest(`result is over ${maxTaskSize} bytes`)
  // v1 took any status word and passed it on: so do we, mapping the ones the mesh knows
  const v1Status = text('status', optionalString(b, 'status') || 'completed', MAX_STATUS_LENGTH)
  const s = v1Status.toLowerCase()
  const status = (Object.hasOwn(STATUSES, s) ? STATUSES[s] : undefined) ?? 'working'
  const messageId = string(b, 'message_id')
  if (messageId.length > 128 || !/^[A-Za-z0-9][A-Za-z0-9._:-]*$/.test(messageId))
    throw badRequest('message_id is not a message id')
  return {
    fromAgent: agentId(b, 'from_agent'),
    toAgent: b.to_agent == null ? undefined : target(b, 'to_agent'),
    messageId,
    result,
    status,
    v1Status,
  }
}

export function parseBroadcast(body: unknown): BroadcastBody {
  const b = object(body)
  const content = string(b, 'content')
  const topic = optionalString(b, 'topic') ?? 'general'
  const tags = b.tags ?? []
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string'))
    throw badRequest('tags must be an array of strings')
  const unique = [...new Set(tags as string[])]
  // v1 had no bound; the mesh's broadcast format carries at most MAX_TAGS (older nodes refuse more)
  if (unique.length > MAX_TAGS) throw badRequest(`at most ${MAX_TAGS} tags`)
  for (const t of unique) {
    if (t === '' || t.length > MAX_TAG_LENGTH || TAG_BAD.test(t))
      throw badRequest(
        `invalid tag ${JSON.stringify(t.slice(0, 80))}: 1-${MAX_TAG_LENGTH} characters, no commas or control characters`,
      )
  }
  return { fromAgent: agentId(b, 'from_agent'), content, topic, tags: unique }
}

export function parseFile(body: unknown): FileBody {
  const b = object(body)
  const fileKey = string(b, 'file_key')
  if (typeof b.content !== 'string') throw badRequest('content must be a string')
  const size = Buffer.byteLength(b.content)
  if (size > MAX_FILE_CONTENT)
    throw new V1Error(
      413,
      `content is ${size} bytes; the v1 API takes up to ${MAX_FILE_CONTENT} (use clawlink file-put)`,
    )
  const fileType = optionalString(b, 'file_type') ?? 'text'
  if (fileType.length > MAX_FILE_TYPE_LENGTH || !FILE_TYPE_RE.test(fileType))
    throw badRequest(`file_type must be 1-${MAX_FILE_TYPE_LENGTH} letters, digits, '.', '_', '+' or '-'`)
  return { fileKey, content: b.content, agentId: agentId(b, 'agent_id'), fileType }
}
