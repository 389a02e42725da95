/**
 * @packageDocumentation
 *
 * ClawLink knowledge: signed broadcasts on gossipsub topic `clawlink/knowledge/1`, and history sync
 * over `/clawlink/knowledge-sync/2.0.0` (the shared sync engine, src/protocols/sync) so that peers converge on the same set.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { ComponentLogger, PeerId, PrivateKey } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { VerifiedBroadcast } from './broadcast.js'
import { Knowledge } from './knowledge.js'
import type { KnowledgeStore } from './knowledge-store.js'

export { RateLimiter } from '../rate-limiter.js'
export {
  type BroadcastInput,
  broadcastId,
  createBroadcast,
  openBroadcast,
  type VerifiedBroadcast,
  validateInput,
  validateTopic,
} from './broadcast.js'
export * as limits from './constants.js'
export { InvalidBroadcastError, PublishBacklogError } from './errors.js'
export { Knowledge } from './knowledge.js'
export { KnowledgeStore, type ListFilter, type StoredBroadcast } from './knowledge-store.js'
export { Broadcast, BroadcastBody } from './pb/knowledge.js'

export type Via = 'own' | 'live' | 'history'

export interface KnowledgeInit {
  store: KnowledgeStore
  /**
   * Stores a verified broadcast (and whatever must go with it, such as the agent's event) in one
   * transaction; returns whether it was new.
   */
  accept: (b: VerifiedBroadcast, via: Via) => boolean
  /** Retention: most broadcasts kept, and their longest age in ms. */
  maxItems?: number
  maxAge?: number
  /** Live broadcasts accepted per author per second, and the burst allowed. */
  rate?: number
  burst?: number
  /** How long after throttling a peer's broadcasts we fetch them through history sync (ms). */
  catchUpDelay?: number
  now?: () => number
  protocolPrefix?: string
  topic?: string
}

export interface KnowledgeComponents {
  peerId: PeerId
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
  pubsub: GossipSub
}

export interface KnowledgeEvents {
  'broadcast:invalid': CustomEvent<{ peer: string; reason: string; via: 'live' | 'history' }>
  'broadcast:throttled': CustomEvent<{ peer: string }>
  /** a pass that got to the peer's end; bytes: requests and responses on the stream */
  'sync:done': CustomEvent<{ peer: string; fetched: number; ms: number; bytes: number }>
}

export function knowledge(init: KnowledgeInit): (components: KnowledgeComponents) => Knowledge {
  return (components) => new Knowledge(components, init)
}
