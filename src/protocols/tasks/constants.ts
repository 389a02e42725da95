import { MAX_ID_LENGTH, MAX_REASON_LENGTH, MAX_TASK_SIZE, MAX_TTL } from '../../rules/limits.js'

export { MAX_ID_LENGTH, MAX_REASON_LENGTH, MAX_TASK_SIZE, MAX_TTL }

export const PROTOCOL_PREFIX = 'clawlink'
export const PROTOCOL_NAME = 'task'
export const PROTOCOL_VERSION = '2.0.0'

/** Room for the other fields of a message beyond task, context and result. */
export const MESSAGE_OVERHEAD = 16 * 1024
/** Incoming tasks not yet final, per sender, before new ones are rejected. */
export const MAX_PENDING_PER_SENDER = 1000

export const DEFAULT_TTL = 24 * 3600 * 1000
/** How long a response or cancellation keeps being retried. */
export const NOTICE_TTL = 30 * 24 * 3600 * 1000
/** Receivers remember message ids this long to drop replays; longer than any message lives. */
export const SEEN_RETENTION = MAX_TTL + 24 * 3600 * 1000

/** Opening a channel, and the longest wait for an ack while messages are unacknowledged. */
export const SEND_TIMEOUT = 10_000
/** A channel with nothing in flight for this long is closed (opened again on demand). */
export const CHANNEL_IDLE = 30_000
export const RETRY_MIN = 1_000
export const RETRY_MAX = 60_000
/** Unacknowledged messages on one peer's channel at once (the flow-control window). */
export const MAX_IN_FLIGHT_PER_PEER = 256
/** Messages a channel holds in memory beyond its window; the rest wait in the outbox. */
export const MAX_QUEUED_PER_PEER = 4096
/** One ack frame: its refusals, each with a reason cut to MAX_REASON_LENGTH bytes. */
export const MAX_ACKS_SIZE = MAX_IN_FLIGHT_PER_PEER * (MAX_REASON_LENGTH + 32) + 64
/** Channels are long-lived: one per peer and direction, a few more while one is replaced. */
export const MAX_INBOUND_STREAMS = 8
export const MAX_OUTBOUND_STREAMS = 8
/** Task messages accepted per peer: a bucket of BURST refilled at RATE per second (excess is refused). */
export const PEER_MESSAGE_RATE = 200
export const PEER_MESSAGE_BURST = 1000
/** Bytes of task messages accepted per peer per second (the burst also holds one largest message). */
export const PEER_BYTE_RATE = 32 * 1024 * 1024
