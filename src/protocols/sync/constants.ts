/** Version of both sync protocols (`/clawlink/knowledge-sync/…`, `/clawlink/files-sync/…`). */
export const SYNC_PROTOCOL_VERSION = '2.0.0'
/** Ids per CHANGES page, and ids per GET. */
export const IDS_PAGE = 1000
export const GET_BATCH = 256
/** Largest request a responder reads. */
export const MAX_REQUEST = 64 * 1024
/** Requests one stream may carry, so a peer cannot keep a stream busy forever. */
export const MAX_REQUESTS = 10_000
/** A responder waits this long for each request; an asker's whole pass gets ten times as long. */
export const TIMEOUT = 30_000
/** Epochs are 16 random bytes in hex; items are named by 32 hex digits. */
export const EPOCH_RE = /^[0-9a-f]{32}$/
export const ID_RE = /^[0-9a-f]{32}$/
