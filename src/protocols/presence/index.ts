/**
 * @packageDocumentation
 *
 * The ClawLink presence protocol: agent cards, heartbeats and leaves.
 *
 * - `/clawlink/presence/1.0.0`: on every new connection the dialling side sends its card and the other
 *   answers with its own (one length-prefixed `PresenceMessage` each way); nodes that both set
 *   `member_list` go on with a `MemberList` each way and `RelayBatch` frames of the signed cards the
 *   other side lacks. A leaving node sends a LEAVE.
 * - gossipsub topic `clawlink/presence/1`: the same messages, signed (StrictSign), every heartbeat. An
 *   announcement may name peers its author lost (a broken link it could not dial back): receivers hold
 *   them stale until they announce again, and a suspected node announces at once.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { ComponentLogger, Libp2pEvents, PeerId, PrivateKey, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { Ticker } from '../ticker.js'
import type { AgentCard } from './pb/presence.js'
import type { AnnounceResult, PeerRecord, StatusChange } from './peer-table.js'
import { Presence } from './presence.js'

export {
  HOSTED_AGENT_ID_RE,
  validateCaps,
  validateCard,
  validateDescription,
  validateHostedAgents,
  validateName,
} from './card.js'
export * as limits from './constants.js'
export { InvalidCardError } from './errors.js'
export {
  AgentCard,
  HostedAgent,
  HostedAgentList,
  MemberList,
  PresenceMessage,
  RelayBatch,
  RelayedCard,
  Suspect,
} from './pb/presence.js'
export type {
  AnnounceResult,
  PeerRecord,
  PeerStatus,
  PresenceTimings,
  StatusChange,
  StatusReason,
} from './peer-table.js'
export { FULL_RATE_MEMBERS, PeerTable, paceStretch, statusReason } from './peer-table.js'
export { Presence } from './presence.js'

/** The fields of this node's card that the node decides; addresses and start time are added here. */
export type LocalCard = Omit<AgentCard, 'addrs' | 'startedAt'>

/** A peer remembered from an earlier run (as stored by the node). */
export interface KnownPeer {
  id: string
  name: string
  caps: string[]
  description: string
  machine: string
  version: string
  startedAt: number
  load: number
  addrs: Uint8Array[]
  relayOnly: boolean
  lastSeen: number
  leftAt?: number
}

export interface PresenceInit {
  /** This node's card, read at every announcement so changes go out with the next one. */
  card: () => LocalCard
  heartbeatInterval?: number
  staleAfter?: number
  offlineAfter?: number
  /** Members up to which the heartbeat and thresholds are as given; above, they stretch (PeerTable). */
  fullRateMembers?: number
  /** A suspected peer that does not answer is offline this long after the suspicion (ms). */
  suspectOfflineAfter?: number
  /** Longest random wait before dialling back a peer whose link broke, and the time that dial gets (ms). */
  probeDelay?: number
  probeTimeout?: number
  /** Injectable clock (ms). */
  now?: () => number
  /** the node's shared timer for periodic chores (the sweep); one of its own when absent */
  ticker?: Ticker
  protocolPrefix?: string
  topic?: string
  timeout?: number
  known?: KnownPeer[]
}

export interface PresenceComponents {
  peerId: PeerId
  /** signs this node's cards so others can relay them (an absent key: cards go out unsigned) */
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  addressManager: AddressManager
  logger: ComponentLogger
  /** libp2p's events: broken links (connection:close) are probed (LinkWatch) */
  events: TypedEventTarget<Libp2pEvents>
  /** The gossipsub service, configured under the name `pubsub` before this one. */
  pubsub: GossipSub
}

export interface PresenceEvents {
  /** A card was accepted from a peer (new, changed, or a heartbeat), or relayed by another with its signature. */
  'peer:card': CustomEvent<{ record: PeerRecord; result: AnnounceResult; via: 'direct' | 'gossip' | 'relay' }>
  /** A peer's status changed: joined (→ online), went stale, went offline, came back. */
  'peer:status': CustomEvent<StatusChange>
  /** A peer sent a malformed or oversized presence message; it was dropped. */
  'peer:invalid': CustomEvent<{ peer: string; reason: string; via: 'direct' | 'gossip' }>
}

export function presence(init: PresenceInit): (components: PresenceComponents) => Presence {
  return (components) => new Presence(components, init)
}
