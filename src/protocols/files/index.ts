/**
 * @packageDocumentation
 *
 * ClawLink shared files: signed, versioned entries announced on gossipsub topic `clawlink/files/1`
 * and exchanged over `/clawlink/files-sync/2.0.0` (the shared sync engine); content-addressed blobs over `/clawlink/blob/1.0.0`.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { ComponentLogger, PeerId, PrivateKey } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { BlobStore } from './blob-store.js'
import type { VerifiedEntry } from './entry.js'
import type { FileStore, KeyState } from './file-store.js'
import { Files } from './files.js'

export type { BlobResult } from './blob-fetcher.js'
export { BlobStore, type BlobWriter } from './blob-store.js'
export * as limits from './constants.js'
export {
  createEntry,
  type EntryFields,
  entryId,
  openEntry,
  type VerifiedEntry,
  validateKey,
  validateMediaType,
} from './entry.js'
export { FileError, InvalidEntryError, VersionJumpError } from './errors.js'
export { FileStore, type KeyState, type StoredEntry, stateOf } from './file-store.js'
export { Files } from './files.js'
export {
  BlobHeader,
  BlobRequest,
  Entry,
  EntryBody,
} from './pb/files.js'

export type Via = 'own' | 'live' | 'sync'

export interface FilesInit {
  store: FileStore
  blobs: BlobStore
  /**
   * Stores a verified entry in one transaction with whatever goes with it; `apply` (run inside that
   * transaction after the insert) prunes history and returns the key's state before and after.
   * Returns whether the entry was new.
   */
  accept: (entry: VerifiedEntry, via: Via, apply: () => { before?: KeyState; after?: KeyState }) => boolean
  maxFileSize?: number
  eagerSize?: number
  historyLimit?: number
  protocolPrefix?: string
  topic?: string
}

export interface FilesComponents {
  peerId: PeerId
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  logger: ComponentLogger
  pubsub: GossipSub
}

export interface FilesEvents {
  'entry:invalid': CustomEvent<{ peer: string; reason: string; via: 'live' | 'sync' }>
  /** a valid entry whose version is too far ahead of this node's view (VersionJumpError) */
  'entry:refused': CustomEvent<{
    peer: string
    author: string
    key: string
    reason: string
    via: 'live' | 'sync'
  }>
  /** a pass that got to the peer's end; bytes: requests and responses on the stream */
  'sync:done': CustomEvent<{ peer: string; fetched: number; bytes: number }>
  'blob:fetched': CustomEvent<{ sha256: string; size: number; peer: string }>
  'blob:invalid': CustomEvent<{ sha256: string; peer: string; reason: string }>
  'blob:progress': CustomEvent<{ sha256: string; received: number; size: number }>
}

export function files(init: FilesInit): (components: FilesComponents) => Files {
  return (components) => new Files(components, init)
}
