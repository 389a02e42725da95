import { MAX_KEY_BYTES, MAX_MEDIA_TYPE_LENGTH } from '../../rules/limits.js'

export { MAX_KEY_BYTES, MAX_MEDIA_TYPE_LENGTH }

export const PROTOCOL_PREFIX = 'clawlink'
export const SYNC_PROTOCOL_NAME = 'files-sync'
export const BLOB_PROTOCOL_NAME = 'blob'
/** Version of the blob protocol; entry sync follows the shared engine's version. */
export const PROTOCOL_VERSION = '1.0.0'
export { SYNC_PROTOCOL_VERSION } from '../sync/constants.js'
/** Gossipsub topic announcing new entries. */
export const TOPIC = 'clawlink/files/1'
export const SIGNING_DOMAIN = 'clawlink/files/1'

/** Largest file, by default; configurable per node. */
export const MAX_FILE_SIZE = 1024 * 1024 * 1024
/** Files up to this size are fetched by every node as soon as they are announced. */
export const EAGER_FETCH_SIZE = 16 * 1024 * 1024
/** Versions kept per key; older ones (and blobs no longer referenced) are dropped. */
export const HISTORY_LIMIT = 20
export const MAX_ENTRY_SIZE = 2048
/** An entry's hosted_editor: as long as a hosted agent's id on a presence card. */
export const MAX_HOSTED_EDITOR_LENGTH = 48
/**
 * Versions are exact integers up to 2^53 - 1. A node refuses an entry whose version is more than this
 * above both the highest version it holds for the key and its clock in ms: one entry cannot push a key
 * far, and an honest history always fits (each write is one above what its author knew; no key is
 * written more than once per ms since 1970).
 */
export const MAX_VERSION_STEP = 2 ** 20
/**
 * And never more than this above the clock in ms (about 35 years of ms): however many entries a member
 * signs, a key stays below 2^42 until the year 2100, far from the 2^53 end.
 */
export const MAX_VERSION_LEAD = 2 ** 40
/** Accepted clock skew for an entry's time. */
export const MAX_FUTURE_SKEW = 5 * 60 * 1000

/** Entry sync (paging, batches: sync/constants.ts): bytes of entries per response, and the largest
 * response an asker reads (256 entries of at most MAX_ENTRY_SIZE fit well within both). */
export const SYNC_RESPONSE_BYTES = 768 * 1024
export const MAX_SYNC_MESSAGE = 1024 * 1024
/** Blob transfer: a request must come within this time. */
export const SYNC_TIMEOUT = 30_000

/** Largest range of blob content served at once; a fetcher keeps at most BLOB_WINDOW of them requested. */
export const CHUNK_SIZE = 1024 * 1024
export const BLOB_WINDOW = 3
/** Smallest range a fetcher asks for (on a slow path); it keeps at least two requested. */
export const BLOB_MIN_RANGE = 64 * 1024
/** A fetcher keeps about this much time (ms) of its measured rate requested: enough to fill the path,
 * little enough that the connection's pings and other protocols do not wait long behind blob data. */
export const BLOB_QUEUE_TARGET = 2_000
/** A fetch is abandoned when no byte arrives for this long (ms), however long the whole transfer takes. */
export const BLOB_STALL_TIMEOUT = 30_000
/** The server side: a request must come, and a range must leave, within this time. */
export const BLOB_IDLE_TIMEOUT = 30_000
/** Blob fetches running at once. */
export const MAX_CONCURRENT_FETCHES = 16
