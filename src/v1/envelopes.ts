// Conversions from the node's records to the v1 JSON clients expect (snake_case, v1 names).
import type { EventJson } from '../api/types.js'
import type { StoredEntry } from '../protocols/files/index.js'
import type { TaskRow } from '../protocols/tasks/index.js'
import { TYPE_PARAM, V1_STATUS_PREFIX } from './constants.js'
import { shortId, type V1Message } from './store.js'

const iso = (ms: number) => new Date(ms).toISOString()

function parseContext(context: string | null): unknown {
  if (context == null) return {}
  try {
    return JSON.parse(context)
  } catch {
    return context
  }
}

/** A task that arrived over the mesh for one of our v1 agents. */
export function delegationFromRow(row: TaskRow): V1Message {
  return {
    type: 'task_delegation',
    message_id: shortId(row.id),
    task_id: row.id,
    from_agent: row.fromAgent ?? row.peer,
    from_node: row.peer,
    to_agent: row.toAgent,
    task: row.task,
    context: parseContext(row.context),
    priority: row.priority,
    timestamp: iso(row.createdAt),
  }
}

/** News of a task one of our v1 agents delegated: an answer, or an expiry or refusal by the mesh. */
export function responseFromRow(row: TaskRow): V1Message {
  const v1Status = row.reason?.startsWith(V1_STATUS_PREFIX) ? row.reason.slice(V1_STATUS_PREFIX.length) : null
  return {
    type: 'task_response',
    message_id: shortId(row.id),
    task_id: row.id,
    from_agent: row.toAgent ?? row.peer,
    from_node: row.peer,
    to_agent: row.fromAgent,
    result: row.result ?? (v1Status == null ? row.reason : null) ?? '',
    // the responder's own status word when it sent one (a v1 agent's in_progress, partial, ...)
    status: v1Status ?? row.state,
    timestamp: iso(row.updatedAt),
  }
}

export function cancelFromRow(row: TaskRow): V1Message {
  return {
    type: 'task_cancelled',
    message_id: shortId(row.id),
    task_id: row.id,
    from_agent: row.fromAgent ?? row.peer,
    reason: row.reason ?? '',
    timestamp: iso(row.updatedAt),
  }
}

/**
 * A broadcast as a v1 message. Its v1 author is the hosted agent the author node signed into it; a
 * `v1-from:` tag (older nodes marked the author so) is anyone's to write, so it is never believed:
 * without the signed field the broadcast is the author node's.
 */
export function broadcastMessage(b: {
  id: string
  author: string
  fromHostedAgent?: string
  content: string
  topic: string
  tags: string[]
  time: string
}): V1Message {
  return {
    type: 'knowledge_broadcast',
    message_id: b.id,
    from_agent: b.fromHostedAgent ?? b.author,
    from_node: b.author,
    content: b.content,
    topic: b.topic,
    tags: b.tags,
    timestamp: b.time,
  }
}

/** A node inbox event (broadcast) as a v1 message. */
export function broadcastFromEvent(e: Omit<EventJson, 'seq'>): V1Message {
  return broadcastMessage({
    id: e.id,
    author: e.from.id,
    fromHostedAgent: e.fromHostedAgent,
    content: e.content ?? '',
    topic: e.topic ?? 'general',
    tags: e.tags ?? [],
    time: e.timestamp,
  })
}

/** Media type for a v1 file: a base type for its file_type (its editor is the entry's signed hosted_editor). */
export function mediaTypeFor(fileType: string): string {
  const base =
    fileType === 'json'
      ? 'application/json'
      : fileType === 'markdown' || fileType === 'md'
        ? 'text/markdown'
        : 'text/plain'
  return `${base}; ${TYPE_PARAM}=${fileType}`
}

/** A parameter of a media type (the v1 file_type of a version). */
export function mediaParam(mediaType: string, name: string): string | undefined {
  for (const part of mediaType.split(';').slice(1)) {
    const at = part.indexOf('=')
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim()
  }
  return undefined
}

/**
 * The v1 editor of a version: the hosted agent its author node signed into it. A `v1-editor` media
 * type parameter (older nodes carried the editor so) is anyone's to write, so it is never believed:
 * without the signed field the editor is the author node.
 */
function lastEditor(entry: StoredEntry): string {
  return entry.hostedEditor ?? entry.author
}

/** A file's winning version as a v1 record (content added by the caller). */
export function fileRecord(entry: StoredEntry, conflict: boolean): Record<string, unknown> {
  return {
    file_key: entry.key,
    version: entry.version,
    last_editor: lastEditor(entry),
    editor_node: entry.author,
    file_type: mediaParam(entry.mediaType, TYPE_PARAM) ?? (entry.mediaType || 'binary'),
    size: entry.size,
    sha256: entry.sha256,
    updated_at: iso(entry.time),
    conflict,
  }
}

export function fileUpdated(entry: StoredEntry): V1Message {
  return {
    type: 'file_updated',
    file_key: entry.key,
    version: entry.version,
    last_editor: lastEditor(entry),
    editor_node: entry.author,
    deleted: entry.deleted,
    timestamp: iso(entry.time),
  }
}
