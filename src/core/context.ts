// What the services of core (tasks, files, knowledge, peers) need of the node they serve. The node
// implements it; the services depend on this interface rather than on the node class, so no import
// cycle ties them to it.
import type { PeerId } from '@libp2p/interface'
import type { MeshKey } from '../home/mesh-key.js'
import type { BlobStore, FileStore, Files } from '../protocols/files/index.js'
import type { Knowledge, KnowledgeStore } from '../protocols/knowledge/index.js'
import type { LocalCard, Presence } from '../protocols/presence/index.js'
import type { TaskStore, Tasks } from '../protocols/tasks/index.js'
import type { Ticker } from '../protocols/ticker.js'
import type { Store } from '../store/database.js'
import type { StoreFaultError } from '../store/errors.js'
import type { EventLog } from './event-log.js'
import type { Stack } from './libp2p-config.js'
import type { Mailbox } from './mailbox.js'
import type { NodeOptions } from './options.js'
import type { PeerGuard } from './peer-guard.js'
import type { WatchHub } from './watch-hub.js'

export interface NodeContext {
  readonly options: NodeOptions
  readonly log: EventLog
  readonly meshKey: MeshKey
  readonly store: Store
  readonly libp2p: Stack
  readonly presence: Presence
  readonly tasks: Tasks
  readonly knowledge: Knowledge
  readonly files: Files
  readonly peerId: PeerId
  readonly mailbox: Mailbox
  readonly taskStore: TaskStore
  readonly knowledgeStore: KnowledgeStore
  readonly fileStore: FileStore
  readonly blobStore: BlobStore
  readonly guard: PeerGuard
  readonly watchHub: WatchHub
  /** the one timer of the node's periodic chores: chores of one period share its wake-ups */
  readonly ticker: Ticker
  readonly firstStartedAt: number
  localCard(): LocalCard
  /** the card as announced: with the agents an adapter (the v1 API) hosts on this node */
  announcedCard(): LocalCard
  nameOf(peer: string): string | undefined
  authorName(id: string): string
  isConnected(peer: string): boolean
  storeProblem(err?: unknown): StoreFaultError | undefined
}
