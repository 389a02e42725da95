// createNode: everything a node needs, built in order (lock, mesh key, store, identity, stores,
// libp2p), then started. Adapters register their recipients and card extensions in `beforeStart`,
// before anything can arrive; the services exist before any event can reach them.
import { existsSync } from 'node:fs'
import { dirname } from 'node:path'
import { type DataDirLock, lockDataDir } from '../home/data-dir-lock.js'
import { resolveMeshKey } from '../home/mesh-key.js'
import { dataDirPaths, runDir } from '../home/paths.js'
import { ensurePrivateDir } from '../home/private-dir.js'
import { BlobStore, FileStore } from '../protocols/files/index.js'
import { KnowledgeStore } from '../protocols/knowledge/index.js'
import { SUSPECT_OFFLINE_AFTER } from '../protocols/presence/constants.js'
import {
  type LocalCard,
  validateCaps,
  validateDescription,
  validateName,
} from '../protocols/presence/index.js'
import { CHANNEL_IDLE } from '../protocols/tasks/constants.js'
import { TaskStore } from '../protocols/tasks/index.js'
import { Ticker } from '../protocols/ticker.js'
import { Checkpointer } from '../store/checkpointer.js'
import type { Store } from '../store/database.js'
import { GroupCommit } from '../store/group-commit.js'
import { openStore } from '../store/open.js'
import { VERSION } from '../version.js'
import type { EventLog } from './event-log.js'
import { loadOrCreateIdentity } from './identity.js'
import { Inbox } from './inbox.js'
import { createStack, type Stack, type StackSeam } from './libp2p-config.js'
import { Mailbox } from './mailbox.js'
import { narrate } from './narration/index.js'
import { ClawLinkNode } from './node.js'
import type { NodeOptions } from './options.js'
import { PeerGuard } from './peer-guard.js'
import { PeerKeeper } from './peer-keeper.js'
import { StoreHealth } from './store-health.js'
import { WatchHub } from './watch-hub.js'

/** Connections beyond --max-peers that tasks, fetches and syncs may open before inbound ones are refused. */
const ON_DEMAND_CONNECTIONS = 64

export interface CreateNodeInit {
  options: NodeOptions
  log: EventLog
  /** runs once the node exists and before its network starts: register hosted agents, hooks */
  beforeStart?: (node: ClawLinkNode) => void | Promise<void>
  /** tests and the simulation only: the transport under the node's stack (see StackSeam) */
  seam?: StackSeam
}

/** Builds and starts a node; on failure everything taken so far (lock, store, libp2p) is released. */
export async function createNode(init: CreateNodeInit): Promise<ClawLinkNode> {
  const { options } = init
  validateName(options.name)
  validateCaps(options.caps)
  validateDescription(options.description)
  const paths = dataDirPaths(options.dataDir, options.env)
  // Everything the node writes (store, WAL, socket, key files) is for this user only.
  process.umask(0o077)
  // the socket's and the run file's dirs must be ours alone: checked first, before any work
  ensurePrivateDir(paths.root)
  ensurePrivateDir(dirname(paths.socket))
  ensurePrivateDir(runDir(options.home))
  const lock = lockDataDir(paths)
  let store: Store | undefined
  let stack: Stack | undefined
  let node: ClawLinkNode | undefined
  try {
    node = await build(
      init,
      lock,
      paths,
      (s) => {
        store = s
      },
      (s) => {
        stack = s
      },
    )
    await init.beforeStart?.(node)
    await node.start()
    return node
  } catch (err) {
    if (node != null) await node.stop().catch(() => {})
    else {
      // set by build() as it goes (TypeScript cannot see the callbacks assign them)
      const built = { stack: stack as Stack | undefined, store: store as Store | undefined }
      await Promise.resolve(built.stack?.stop()).catch(() => {})
      built.store?.close()
      lock.release()
    }
    throw err
  }
}

async function build(
  { options, log, seam }: CreateNodeInit,
  lock: DataDirLock,
  paths: ReturnType<typeof dataDirPaths>,
  opened: (store: Store) => void,
  created: (stack: Stack) => void,
): Promise<ClawLinkNode> {
  const meshKey = resolveMeshKey({
    keyFile: options.keyFile,
    token: options.token,
    open: options.open,
    env: options.env,
    homeKeyPath: options.homeKeyPath,
  })
  if (meshKey.source === 'open') {
    log.emit(
      'open_mesh',
      {},
      'WARNING: running with --open: there is no mesh key and any host on the network may join this node',
      'warn',
    )
  }
  // a node with an identity has run before: its store must be there and sound (see store/open.ts)
  const result = openStore(paths, {
    existing: existsSync(paths.identity),
    reset: options.resetStore === true,
  })
  const store = result.store
  opened(store)
  if (result.reset != null) {
    log.emit(
      'store_reset',
      { path: paths.store, problem: result.reset.problem, movedTo: result.reset.movedTo ?? null },
      `--reset-store: the store was ${result.reset.problem}; started a fresh one` +
        (result.reset.movedTo != null ? ` (the old one is kept as ${result.reset.movedTo})` : ''),
      'warn',
    )
  }
  const { key } = await loadOrCreateIdentity(paths.identity)
  const watchHub = new WatchHub()
  // one group commit for the node's task writes and inbox hand-outs: one fsync covers them all, and
  // it runs on the thread pool (the WAL is synced there), not on the event loop
  // and checkpoints run on a worker thread of their own
  const checkpointer = new Checkpointer(store.db, {
    path: paths.store,
    onError: (message) => log.emit('store_error', { message }, message, 'error'),
  })
  const commits = new GroupCommit(store.db, {
    wal: `${paths.store}-wal`,
    committed: () => checkpointer.committed(),
  })
  const inbox = new Inbox(store.db, commits)
  inbox.subscribe((event) => watchHub.publish(event))
  const mailbox = new Mailbox(inbox)
  let firstStartedAt = Date.now()
  const first = store.getMeta('first_started_at')
  if (first == null) store.setMeta('first_started_at', String(firstStartedAt))
  else firstStartedAt = Number(first)
  const knowledgeStore = new KnowledgeStore(store.db)
  const fileStore = new FileStore(store.db)
  const blobStore = new BlobStore(paths.blobs)
  await blobStore.init()
  const card: LocalCard = {
    name: options.name,
    caps: options.caps,
    description: options.description,
    machine: options.machine.slice(0, 255),
    version: VERSION,
    load: 0,
    relayOnly: options.relayOnly,
    // a hub says so, and nodes that cannot reach part of the mesh reserve a slot on it (hub-seeker.ts)
    hub: options.relayServer,
  }
  // The callbacks below run only once the network is up, when `node` is set.
  let node!: ClawLinkNode
  const taskStore = new TaskStore({
    db: store.db,
    // a task for (or delegated by) a hosted agent goes to its queue instead of the node's inbox
    onEvent: (event) => node.mailbox.deliverTask(event, () => node.taskService.eventJson(event)),
  })
  const guard = new PeerGuard({ allow: options.allow })
  const known = PeerKeeper.remembered({ store })
  // one timer for the node's periodic chores: presence's sweep and the peer keeper's (ticker.ts)
  const ticker = new Ticker()
  const stack = await createStack({
    privateKey: key,
    meshKey,
    listen: options.listen,
    relayServer: options.relayServer,
    relays: options.relays,
    // a hub serves every member that reserves a slot; an agent keeps max-peers plus on-demand ones
    maxConnections: options.relayServer ? 2048 : options.maxPeers + ON_DEMAND_CONNECTIONS,
    gater: guard.gater(),
    seam,
    mdns: options.mdns,
    mdnsTag: options.mdnsTag,
    mdnsInterval: options.mdnsInterval,
    tasks: {
      store: taskStore,
      // an idle delivery stream keeps an on-demand connection in use: it closes no later than the grace
      channelIdle: Math.min(CHANNEL_IDLE, options.idleGrace),
      commits,
      maxTaskSize: options.maxTaskSize,
      maxPendingPerSender: options.maxInbox,
      peerMessageRate: options.taskRate,
      nameOf: (peer) => node.nameOf(peer),
      canAck: () => node.storeHealth.canAck(),
    },
    knowledge: {
      store: knowledgeStore,
      maxItems: options.knowledgeMax,
      maxAge: options.knowledgeMaxAge,
      rate: options.broadcastRate,
      burst: options.broadcastRate * 5,
      catchUpDelay: options.catchUpDelay,
      accept: (b, via) => node.knowledgeService.accept(b, via),
    },
    files: {
      store: fileStore,
      blobs: blobStore,
      maxFileSize: options.maxFileSize,
      eagerSize: options.eagerFetchSize,
      historyLimit: options.fileHistory,
      accept: (entry, via, apply) => node.fileService.accept(entry, via, apply),
    },
    presence: {
      card: () => node.announcedCard(),
      heartbeatInterval: options.heartbeatInterval,
      staleAfter: options.staleAfter,
      offlineAfter: options.offlineAfter,
      // a peer its neighbours lost and could not dial back is offline after a minute, or sooner when
      // --offline-after asks for less
      suspectOfflineAfter: Math.min(SUSPECT_OFFLINE_AFTER, options.offlineAfter),
      known,
      ticker,
    },
  })
  created(stack)
  const storeHealth = new StoreHealth(paths, log, (err) => node.fatal(err))
  node = new ClawLinkNode({
    options,
    log,
    paths,
    lock,
    meshKey,
    store,
    stack,
    inbox,
    mailbox,
    taskStore,
    knowledgeStore,
    fileStore,
    blobStore,
    guard,
    storeHealth,
    watchHub,
    ticker,
    card,
    firstStartedAt,
  })
  // behaviour first, then narration: a ban's log line comes before the line about the bad message
  node.onStop('after-network', async () => {
    commits.close()
    await checkpointer.close()
  })
  node.peers.wire()
  node.taskService.wire()
  node.a2a.wire((list) => node.setHostedAgents(list))
  node.fileService.wire()
  narrate(node)
  return node
}
