import { MAX_CONTENT_SIZE, MAX_TAG_LENGTH, MAX_TAGS, MAX_TOPIC_LENGTH } from '../../rules/limits.js'

export { MAX_CONTENT_SIZE, MAX_TAG_LENGTH, MAX_TAGS, MAX_TOPIC_LENGTH }

export const PROTOCOL_PREFIX = 'clawlink'
/** History sync between two peers. */
export const SYNC_PROTOCOL_NAME = 'knowledge-sync'
export { SYNC_PROTOCOL_VERSION } from '../sync/constants.js'
/** Gossipsub topic for live broadcasts (the knowledge topic is a field inside). */
export const TOPIC = 'clawlink/knowledge/1'
/** Domain of the author's signature, so it can never be mistaken for another ClawLink signature. */
export const SIGNING_DOMAIN = 'clawlink/knowledge/1'

/** A broadcast's from_hosted_agent: as long as a hosted agent's id on a presence card. */
export const MAX_HOSTED_AGENT_LENGTH = 48

/** One broadcast on the wire: content plus room for the rest. */
export const MAX_BROADCAST_SIZE = MAX_CONTENT_SIZE + 8 * 1024
/** Accepted clock skew: a broadcast from further in the future is refused. */
export const MAX_FUTURE_SKEW = 5 * 60 * 1000

/** Retention: the last this many broadcasts, and none older than MAX_AGE. */
export const MAX_ITEMS = 10_000
export const MAX_AGE = 7 * 24 * 3600 * 1000

/** Sync (paging, batches, timeouts: sync/constants.ts): bytes of broadcasts per response (a response is
 * cut there and asked again), and the largest response an asker reads. */
export const SYNC_RESPONSE_BYTES = 2 * 1024 * 1024
export const MAX_SYNC_MESSAGE = SYNC_RESPONSE_BYTES + MAX_BROADCAST_SIZE + 64 * 1024

/** Live broadcasts accepted per author: a bucket of BURST refilled at RATE per second. */
export const RATE = 20
export const BURST = 100
/** A node publishes its own broadcasts at this share of RATE and BURST, under what receivers accept. */
export const SEND_SHARE = 0.8
export const SEND_BURST_SHARE = 0.5
/** Own broadcasts waiting to be published: at most this many seconds of publishing (then 429). */
export const MAX_PENDING_SECONDS = 60
/** A receiver that dropped an author's excess pulls from the peer that forwarded it this long after,
 * and at most once per CATCH_UP_INTERVAL per peer. */
export const CATCH_UP_DELAY = 2_000
export const CATCH_UP_INTERVAL = 5_000
