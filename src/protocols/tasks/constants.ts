export const PROTOCOL_PREFIX = 'clawlink'
export const PROTOCOL_NAME = 'task'
export const PROTOCOL_VERSION = '1.0.0'

/** Task text plus context, in bytes (UTF-8). Configurable per node. */
export const MAX_TASK_SIZE = 1024 * 1024
/** Room for the other fields of a message beyond task, context and result. */
export const MESSAGE_OVERHEAD = 16 * 1024
export const MAX_ACK_SIZE = 4096
export const MAX_ID_LENGTH = 128
export const MAX_REASON_LENGTH = 1024
/** Incoming tasks not yet final, per sender, before new ones are rejected. */
export const MAX_PENDING_PER_SENDER = 1000

export const DEFAULT_TTL = 24 * 3600 * 1000
export const MAX_TTL = 30 * 24 * 3600 * 1000
/** How long a response or cancellation keeps being retried. */
export const NOTICE_TTL = 30 * 24 * 3600 * 1000
/** Receivers remember message ids this long to drop replays; longer than any message lives. */
export const SEEN_RETENTION = MAX_TTL + 24 * 3600 * 1000

/** One send: open a stream, write, read the ack. */
export const SEND_TIMEOUT = 10_000
export const RETRY_MIN = 1_000
export const RETRY_MAX = 60_000
/** Messages in flight to one peer at once. */
export const MAX_IN_FLIGHT_PER_PEER = 64
export const MAX_INBOUND_STREAMS = 128
export const MAX_OUTBOUND_STREAMS = 128
/** Task messages accepted per peer: a bucket of BURST refilled at RATE per second (excess is refused). */
export const PEER_MESSAGE_RATE = 200
export const PEER_MESSAGE_BURST = 1000
/** Bytes of task messages accepted per peer per second (the burst also holds one largest message). */
export const PEER_BYTE_RATE = 32 * 1024 * 1024
