// The sizes that input may have wherever it enters: the control API, MCP tools, the CLI and the wire
// validators read them from here, so a limit is the same everywhere. Protocol-only limits (frame sizes,
// windows, timeouts) stay in each protocol's constants.ts.

/** task text plus context, or a result (default; a node may be started with another) */
export const MAX_TASK_SIZE = 1024 * 1024
/** task ids and message ids */
export const MAX_ID_LENGTH = 128
/** bytes of a cancel or refusal reason */
export const MAX_REASON_LENGTH = 1024
/**
 * Deepest nesting of arrays and objects a task context may have. JSON.parse takes any depth, but
 * JSON.stringify recurses: a context nested a few thousand levels deep would be stored and then break
 * every answer that carries it (task lists, poll) with a stack overflow.
 */
export const MAX_CONTEXT_DEPTH = 128
/** the longest time to live a task may ask for */
export const MAX_TTL = 30 * 24 * 3600 * 1000

/** a broadcast's content, tags and topic */
export const MAX_CONTENT_SIZE = 64 * 1024
export const MAX_TAGS = 16
export const MAX_TAG_LENGTH = 64
/**
 * Tags in this namespace (any case) are refused from users: older nodes marked a v1 broadcast's
 * author with `v1-from:AGENT_ID`, so such a tag could pose as another agent. The author now travels
 * in the signed from_hosted_agent field.
 */
export const RESERVED_TAG_PREFIX = 'v1-from:'

/** True for a tag in the reserved namespace. */
export function isReservedTag(tag: string): boolean {
  return tag.slice(0, RESERVED_TAG_PREFIX.length).toLowerCase() === RESERVED_TAG_PREFIX
}
export const MAX_TOPIC_LENGTH = 64

/** a shared file's key (bytes of UTF-8) and media type */
export const MAX_KEY_BYTES = 512
export const MAX_MEDIA_TYPE_LENGTH = 128
/**
 * A media type parameter refused from users (any case): older nodes carried a v1 file version's
 * editor in it, so it could pose as another agent. The editor now travels in the signed
 * hosted_editor field of the entry.
 */
export const RESERVED_MEDIA_PARAM = 'v1-editor'

/** True when a media type has the reserved parameter. */
export function hasReservedMediaParam(mediaType: string): boolean {
  return mediaType
    .split(';')
    .slice(1)
    .some((part) => part.split('=')[0]!.trim().toLowerCase() === RESERVED_MEDIA_PARAM)
}
