/**
 * @packageDocumentation
 *
 * The pull-sync engine shared by knowledge (`/clawlink/knowledge-sync/2.0.0`) and files
 * (`/clawlink/files-sync/2.0.0`): per-peer cursors over each store's local sequence, ids first,
 * then the bodies the asker lacks. A pass between two nodes already in sync is one small request
 * and one small response, whatever the history.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { ComponentLogger } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { SyncEngine } from './sync-engine.js'
import type { SyncState } from './sync-state.js'

export * as limits from './constants.js'
export { InvalidSyncResponseError } from './errors.js'
export { SyncRequest, SyncResponse } from './pb/sync.js'
export { startResync } from './resync.js'
export { SyncEngine } from './sync-engine.js'
export { type Cursor, SyncState } from './sync-state.js'

/** What a store answers with. */
export interface SyncSource {
  epoch(): string
  /** The highest sequence number given out: a cursor beyond it is from before a restore from a backup. */
  head(): number
  /**
   * Ids of the items stored after sequence `after`, oldest first, at most `limit` rows looked at; the
   * sequence the page got to (past rows it left out, such as expired ones), and whether rows remain.
   */
  changes(after: number, limit: number): { ids: string[]; cursor: number; more: boolean }
  /** An item exactly as stored. */
  raw(id: string): Uint8Array | undefined
}

/** What the asker made of a GET response. */
export interface Received {
  /** ids of the valid items among them (stored, already here, or deliberately left out) */
  ids: string[]
  /** how many were new and stored */
  fetched: number
  /** a valid item was refused for now (it depends on what this node holds): keep the cursor before it */
  hold?: boolean
}

export interface SyncInit {
  /** the full protocol id */
  protocol: string
  /** log component prefix */
  logName: string
  source: SyncSource
  /** this store's epoch and the cursors it keeps per peer */
  state: SyncState
  has(id: string): boolean
  /**
   * Verifies and stores items a peer sent for the ids in `asked` (each in the transaction that stores
   * it), counting any invalid one against the peer. Must throw only on a local failure.
   */
  receive(items: Uint8Array[], asked: ReadonlySet<string>, peer: string): Promise<Received>
  /** bytes of items in one GET response (at least one item goes) */
  responseBytes: number
  /** largest response the asker reads */
  maxResponse: number
  onDone?(peer: string, result: SyncResult): void
}

export interface SyncResult {
  fetched: number
  /** bytes of requests and responses on the stream, length prefixes included */
  bytes: number
  ms: number
  /** the pass got to the peer's end (the cursor is there) */
  complete: boolean
}

export interface SyncComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
  pubsub: GossipSub
}

export function syncEngine(init: SyncInit): (components: SyncComponents) => SyncEngine {
  return (components) => new SyncEngine(components, init)
}
