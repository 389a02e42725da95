export const PROTOCOL_PREFIX = 'clawlink'
export const PROTOCOL_NAME = 'presence'
export const PROTOCOL_VERSION = '1.0.0'
/** Gossipsub topic for cards, heartbeats and leaves. */
export const TOPIC = 'clawlink/presence/1'

/** A whole presence message (card included) on the wire or in gossip. */
export const MAX_MESSAGE_SIZE = 8 * 1024
/** One frame of the direct exchange: a member list or a batch of relayed cards (a card frame is checked
 * against MAX_MESSAGE_SIZE after it is read). */
export const MAX_EXCHANGE_FRAME = 64 * 1024
/** Bytes of the member digests (the first bytes of SHA-256 of a PeerId string). */
export const MEMBER_DIGEST_LENGTH = 8
/** Members a node lists in the exchange (4096 x 8 bytes = 32 KiB, one frame). */
export const MAX_MEMBER_DIGESTS = 4096
/** Relayed cards one side sends in one exchange, at most, in bytes and in number. */
export const MAX_RELAYED_CARDS = 1024
export const MAX_RELAY_BYTES = 1024 * 1024
/** Frames of relayed cards one side sends in one exchange, at most (full frames need 17). */
export const MAX_RELAY_FRAMES = 64
export { MAX_CAP_LENGTH, MAX_CAPS, MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH } from '../../rules/card.js'
export const MAX_MACHINE_LENGTH = 255
export const MAX_VERSION_LENGTH = 64
export const MAX_ADDRS = 16
export const MAX_ADDR_LENGTH = 256
/** hosted agents a card may list, and their fields (the whole message stays within MAX_MESSAGE_SIZE) */
export const MAX_HOSTED_AGENTS = 32
export const MAX_HOSTED_AGENT_ID_LENGTH = 48
export const MAX_HOSTED_AGENT_CAPS = 16
export const MAX_HOSTED_AGENT_DESCRIPTION_LENGTH = 256

/** Defaults, as in ClawLink v1: stale after 120 s without a heartbeat. */
export const HEARTBEAT_INTERVAL = 30_000
export const STALE_AFTER = 120_000
/** How long a stale peer stays stale before it is offline. */
export const OFFLINE_AFTER = 600_000
/** Peers one message may name as suspected (a node loses few links at once; the rest wait for the next). */
export const MAX_SUSPECTS = 16
/** Bytes of a suspected peer's id (an Ed25519 PeerId's multihash is 38). */
export const MAX_SUSPECT_PEER_LENGTH = 64
/** How long a suspected peer that does not answer stays stale before it is offline (PeerTable.suspect). */
export const SUSPECT_OFFLINE_AFTER = 60_000
/** Longest random wait after a link breaks before the dial back: a peer's neighbours do not all dial
 * at once, and the first suspicion to arrive spares the others theirs. */
export const PROBE_DELAY = 1_000
/** Time allowed for the dial back to a peer whose link broke. */
export const PROBE_TIMEOUT = 5_000
/** A node answers suspicions of itself at most this often (a flood of them costs one announce each). */
export const REFUTE_INTERVAL = 5_000
/** Delay that coalesces re-announcements triggered by peers joining. */
export const ANNOUNCE_DEBOUNCE = 200
/** Time allowed for one card exchange or leave notice. */
export const TIMEOUT = 5_000
export const MAX_INBOUND_STREAMS = 4
export const MAX_OUTBOUND_STREAMS = 4
