// Limits and defaults of the ClawLink v1 HTTP API (a compatibility layer over the node).

export const SERVICE = 'ClawLink'
export const DEFAULT_HOST = '127.0.0.1'
export const DEFAULT_PORT = 9077
/** Env var for --v1-token. */
export const TOKEN_ENV = 'CLAWLINK_V1_TOKEN'
/** v1's own token variable: the v1 API's bearer token when neither of the above is given. */
export const V1_CLIENT_TOKEN_ENV = 'CLAWLINK_TOKEN'

/** v1 agents registered on one node. */
export const MAX_AGENTS = 64
export const MAX_AGENT_ID_LENGTH = 48
export const MAX_NAME_LENGTH = 64
export const MAX_CAPABILITIES = 16
export const MAX_CAPABILITY_LENGTH = 64
export const MAX_MACHINE_LENGTH = 255
export const MAX_DESCRIPTION_LENGTH = 1024
/** PeerIds and node names may also be addressed (to_agent). */
export const MAX_TARGET_LENGTH = 128

/** As in v1: an agent without a heartbeat for this long is stale, and not listed by discover. */
export const STALE_AFTER = 120_000
/** An agent not heard from (register, heartbeat, poll) for this long is forgotten with its queue. */
export const AGENT_MAX_SILENCE = 24 * 3600 * 1000
/** 12-hex message ids are remembered this long (a task answered later needs its full id). */
export const SHORT_ID_MAX_AGE = 30 * 24 * 3600 * 1000
/** v1 agents listed in the node's presence card: heard from within this, most recent first. */
export const CARD_AGENT_MAX_AGE = 24 * 3600 * 1000
/** Bytes of the presence card spent on v1 agents (the whole presence message is capped at 8 KiB). */
export const CARD_AGENT_BUDGET = 3 * 1024

/** Messages waiting per v1 agent; past it the oldest broadcasts and file notices are dropped. */
export const MAX_QUEUE = 10_000
/** Messages one poll returns (`count` says how many; poll again for more). */
export const MAX_POLL = 500

/** Request bodies: the largest task/result plus JSON escaping, capped here. */
export const MAX_BODY_SIZE = 8 * 1024 * 1024
/** v1 file content is text kept in the shared file map; larger files go through `clawlink file-put`. */
export const MAX_FILE_CONTENT = 1024 * 1024
export const MAX_FILE_TYPE_LENGTH = 32
/** A whole request (headers and body) must arrive within this. */
export const REQUEST_TIMEOUT = 60_000
export const MAX_CONNECTIONS = 256

/** A v1 status word in /respond (any word; it travels in the UPDATE's reason, after V1_STATUS_PREFIX). */
export const MAX_STATUS_LENGTH = 64
export const V1_STATUS_PREFIX = 'v1-status:'

/** Tasks delegated through v1 live this long undelivered (the node default). */
export const TASK_TTL = 24 * 3600 * 1000

/** Media type parameter carrying the v1 file_type of a file version (its editor is signed: hosted_editor). */
export const TYPE_PARAM = 'v1-type'
