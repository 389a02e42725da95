import type { Message } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import { TypedEventEmitter } from 'main-event'
import { type Received, SyncEngine } from '../sync/index.js'
import { BlobFetcher, type BlobResult } from './blob-fetcher.js'
import type { BlobStore } from './blob-store.js'
import { serveBlob } from './blob-transfer.js'
import {
  BLOB_PROTOCOL_NAME,
  EAGER_FETCH_SIZE,
  HISTORY_LIMIT,
  MAX_FILE_SIZE,
  MAX_SYNC_MESSAGE,
  PROTOCOL_PREFIX,
  PROTOCOL_VERSION,
  SYNC_PROTOCOL_NAME,
  SYNC_PROTOCOL_VERSION,
  SYNC_RESPONSE_BYTES,
  TOPIC,
} from './constants.js'
import { checkVersionStep, createEntry, type EntryFields, openEntry, type VerifiedEntry } from './entry.js'
import { FileError, InvalidEntryError, VersionJumpError } from './errors.js'
import type { FileStore, KeyState } from './file-store.js'
import type { FilesComponents, FilesEvents, FilesInit } from './index.js'

const RETRY_MISSING = 30_000

/** New content of a key: already in the blob store; `hostedEditor` names the hosted (v1) agent writing it. */
export interface FileContent {
  sha256: string
  size: number
  mediaType: string
  hostedEditor?: string
}
const GC_INTERVAL = 5 * 60_000

/**
 * Shared files: a replicated map of signed, versioned entries, and content-addressed blobs. Entries
 * are announced over gossipsub and exchanged on every new connection (anti-entropy); blobs move over
 * a direct stream in frames, verified by hash, and are fetched eagerly up to a size, lazily above it.
 */
export class Files extends TypedEventEmitter<FilesEvents> implements Startable {
  readonly syncProtocol: string
  readonly blobProtocol: string
  readonly topic: string
  readonly maxFileSize: number
  private readonly components: FilesComponents
  private readonly store: FileStore
  private readonly blobs: BlobStore
  private readonly accept: FilesInit['accept']
  private readonly eagerSize: number
  private readonly historyLimit: number
  private readonly log: Logger
  private readonly sync: SyncEngine
  private readonly fetcher: BlobFetcher
  private writing: Promise<unknown> = Promise.resolve()
  private retryTimer?: ReturnType<typeof setInterval>
  private gcTimer?: ReturnType<typeof setInterval>
  private started = false

  constructor(components: FilesComponents, init: FilesInit) {
    super()
    this.components = components
    this.store = init.store
    this.blobs = init.blobs
    this.accept = init.accept
    this.maxFileSize = init.maxFileSize ?? MAX_FILE_SIZE
    this.eagerSize = init.eagerSize ?? EAGER_FETCH_SIZE
    this.historyLimit = init.historyLimit ?? HISTORY_LIMIT
    this.log = components.logger.forComponent('clawlink:files')
    const prefix = init.protocolPrefix ?? PROTOCOL_PREFIX
    this.syncProtocol = `/${prefix}/${SYNC_PROTOCOL_NAME}/${SYNC_PROTOCOL_VERSION}`
    this.blobProtocol = `/${prefix}/${BLOB_PROTOCOL_NAME}/${PROTOCOL_VERSION}`
    this.topic = init.topic ?? TOPIC
    this.sync = new SyncEngine(components, {
      protocol: this.syncProtocol,
      logName: 'clawlink:files',
      state: this.store.sync,
      source: {
        epoch: () => this.store.sync.epoch(),
        head: () => this.store.head(),
        changes: (after, limit) => this.store.changes(after, limit),
        raw: (id) => this.store.raw(id),
      },
      has: (id) => this.store.has(id),
      receive: (items, asked, peer) => this.receive(items, asked, peer),
      responseBytes: SYNC_RESPONSE_BYTES,
      maxResponse: MAX_SYNC_MESSAGE,
      onDone: (peer, r) => {
        if (!r.complete) return
        this.safeDispatch('sync:done', { peer, fetched: r.fetched, bytes: r.bytes })
        this.fetchMissing()
      },
    })
    this.fetcher = new BlobFetcher({
      components,
      blobs: this.blobs,
      protocol: this.blobProtocol,
      log: this.log,
      running: () => this.started,
      dispatch: (type, detail) => this.safeDispatch(type, detail as never),
    })
    this.handleBlob = this.handleBlob.bind(this)
    this.validate = this.validate.bind(this)
  }

  readonly [Symbol.toStringTag] = '@clawlink/files'

  isStarted(): boolean {
    return this.started
  }

  async start(): Promise<void> {
    const { registrar } = this.components
    await this.sync.start()
    await registrar.handle(this.blobProtocol, this.handleBlob, {
      maxInboundStreams: 16,
      maxOutboundStreams: 16,
      runOnLimitedConnection: true,
    })
    this.started = true
  }

  afterStart(): void {
    const { pubsub } = this.components
    pubsub.topicValidators.set(this.topic, this.validate)
    pubsub.subscribe(this.topic)
    this.sync.afterStart(this.topic)
    this.fetchMissing()
    this.retryTimer = setInterval(() => this.fetchMissing(), RETRY_MISSING)
    this.gcTimer = setInterval(() => {
      this.collectGarbage().catch((err) => this.log.error('blob garbage collection failed - %e', err))
    }, GC_INTERVAL)
  }

  async stop(): Promise<void> {
    this.started = false
    await this.sync.stop()
    clearInterval(this.retryTimer)
    clearInterval(this.gcTimer)
    const { registrar, pubsub } = this.components
    await registrar.unhandle(this.blobProtocol)
    pubsub.topicValidators.delete(this.topic)
    try {
      pubsub.unsubscribe(this.topic)
    } catch {}
  }

  // ---- writing ----

  /**
   * Writes `key` as this node: content already in the blob store (`content`), or a deletion. With
   * `base`, refuses unless the current winner has that version (compare-and-swap).
   */
  write(key: string, content: FileContent | 'delete', base?: number): Promise<VerifiedEntry> {
    // one write at a time: each reads the highest version and checks --base against what the last stored
    const next = this.writing.then(() => this.writeNow(key, content, base))
    this.writing = next.catch(() => {})
    return next
  }

  private async writeNow(
    key: string,
    content: FileContent | 'delete',
    base?: number,
  ): Promise<VerifiedEntry> {
    const current = this.checkBase(key, base)
    if (content === 'delete' && (current == null || current.winner.deleted)) {
      throw new FileError('not_found', `no file ${key}`)
    }
    const known = this.store.maxVersion(key)
    if (known >= Number.MAX_SAFE_INTEGER) throw new FileError('invalid', `${key} has no versions left`)
    const fields: EntryFields = {
      key,
      version: known + 1,
      base: known,
      time: Date.now(),
      size: content === 'delete' ? 0 : content.size,
      sha256: content === 'delete' ? '' : content.sha256,
      mediaType: content === 'delete' ? '' : content.mediaType,
      deleted: content === 'delete',
    }
    if (content !== 'delete' && content.hostedEditor != null) fields.hostedEditor = content.hostedEditor
    const raw = await createEntry(
      this.components.privateKey,
      this.components.peerId.toMultihash().bytes,
      fields,
    )
    const entry = await openEntry(raw, Number.MAX_SAFE_INTEGER)
    this.take(entry, 'own')
    try {
      await this.components.pubsub.publish(this.topic, raw)
    } catch (err) {
      this.log('publish failed - %e', err)
    }
    return entry
  }

  /** With a base version (compare-and-swap), throws a conflict unless the current winner has it. */
  checkBase(key: string, base?: number): KeyState | undefined {
    const current = this.store.state(key)
    const at = current?.winner.version ?? 0
    if (base != null && at !== base) {
      const by = current != null ? ` (by ${current.winner.author.slice(0, 16)})` : ''
      throw new FileError(
        'conflict',
        `${key} is at version ${at}${by}, not ${base}: get it, merge, and write again with base ${at}`,
      )
    }
    return current
  }

  /**
   * The bounded step: a version may be at most MAX_VERSION_STEP above the higher of the key's highest
   * version here and the clock in ms, and at most MAX_VERSION_LEAD above the clock. Honest versions
   * stay below the clock (no key is written more than once per ms since 1970).
   */
  checkStep(entry: VerifiedEntry, now = Date.now()): void {
    checkVersionStep(entry, this.store.maxVersion(entry.key), now)
  }

  /** Stores an entry, prunes the key's history, and reports a changed winner. */
  private take(entry: VerifiedEntry, via: 'own' | 'live' | 'sync'): boolean {
    const before = this.store.state(entry.key)
    const isNew = this.accept(entry, via, () => {
      this.store.prune(entry.key, this.historyLimit)
      const after = this.store.state(entry.key)
      return { before, after }
    })
    if (isNew && !entry.deleted && entry.size <= this.eagerSize)
      this.fetcher.enqueue(entry.sha256, entry.size, entry.author)
    return isNew
  }

  private refused(entry: VerifiedEntry, err: VersionJumpError, peer: string, via: 'live' | 'sync'): void {
    this.safeDispatch('entry:refused', {
      peer,
      author: entry.author,
      key: entry.key,
      reason: err.message,
      via,
    })
  }

  // ---- gossip ----

  private async validate(propagationSource: PeerId, msg: Message): Promise<TopicValidatorResult> {
    const peer = msg.type === 'signed' ? msg.from.toString() : propagationSource.toString()
    try {
      if (msg.type !== 'signed') throw new InvalidEntryError('unsigned gossip message')
      const entry = await openEntry(msg.data, this.maxFileSize)
      if (entry.author !== peer) throw new InvalidEntryError('gossip sender is not the entry author')
      if (!msg.from.equals(this.components.peerId)) {
        try {
          this.checkStep(entry)
        } catch (err) {
          if (!(err instanceof VersionJumpError)) throw err
          // depends on this node's view: not forwarded, but the forwarder is not penalised
          this.refused(entry, err, propagationSource.toString(), 'live')
          return TopicValidatorResult.Ignore
        }
        this.take(entry, 'live')
      }
      return TopicValidatorResult.Accept
    } catch (err) {
      if (err instanceof InvalidEntryError) {
        this.safeDispatch('entry:invalid', { peer, reason: err.message, via: 'live' })
        return TopicValidatorResult.Reject
      }
      this.log.error('could not handle an entry from %s - %e', peer, err)
      return TopicValidatorResult.Ignore
    }
  }

  // ---- anti-entropy ----

  /** Pulls from `peer` the entries it stored since this node's cursor there. */
  async syncFrom(peerId: PeerId): Promise<number> {
    return (await this.sync.syncFrom(peerId)).fetched
  }

  /** Verifies and stores the entries of one sync response. */
  private async receive(items: Uint8Array[], asked: ReadonlySet<string>, peer: string): Promise<Received> {
    const opened: VerifiedEntry[] = []
    for (const raw of items) {
      try {
        const entry = await openEntry(raw, this.maxFileSize)
        if (!asked.has(entry.id)) throw new InvalidEntryError('an entry that was not asked for')
        opened.push(entry)
      } catch (err) {
        if (!(err instanceof InvalidEntryError)) throw err
        this.safeDispatch('entry:invalid', { peer, reason: err.message, via: 'sync' })
      }
    }
    // lowest versions first: a key's history is measured step by step, as its authors wrote it
    opened.sort((x, y) => x.version - y.version)
    let fetched = 0
    let hold = false
    for (const entry of opened) {
      try {
        this.checkStep(entry)
      } catch (err) {
        if (!(err instanceof VersionJumpError)) throw err
        this.refused(entry, err, peer, 'sync')
        // asked for again at the next pass: the cursor stays before it
        hold = true
        continue
      }
      if (this.take(entry, 'sync')) fetched++
    }
    return { ids: opened.map((e) => e.id), fetched, hold }
  }

  // ---- blobs ----

  private async handleBlob(stream: Stream): Promise<void> {
    try {
      // only content of retained entries is served: a peer cannot probe for arbitrary blobs
      await serveBlob(
        stream,
        this.blobs,
        async (sha) => this.store.references(sha) && (await this.blobs.has(sha)),
      )
    } catch (err) {
      this.log('serving a blob failed - %e', err)
      stream.abort(err as Error)
    }
  }

  /**
   * Makes sure this node holds a blob: fetched from the author first, then from any connected peer.
   * A corrupted or truncated transfer is discarded and the next peer tried.
   */
  ensureBlob(sha256: string, size: number, author?: string): Promise<BlobResult> {
    return this.fetcher.ensure(sha256, size, author)
  }

  /** Queues every eagerly replicated blob this node lacks. */
  fetchMissing(): void {
    if (!this.started) return
    void (async () => {
      for (const e of this.store.eager(this.eagerSize)) {
        if (!(await this.blobs.has(e.sha256))) this.fetcher.enqueue(e.sha256, e.size, e.author)
      }
    })().catch((err) => this.log.error('scanning for missing blobs failed - %e', err))
  }

  /** Drops blobs no retained entry references. */
  async collectGarbage(graceMs?: number): Promise<number> {
    return this.blobs.gc(this.store.referenced(), graceMs)
  }

  state(key: string): KeyState | undefined {
    return this.store.state(key)
  }

  private safeDispatch<K extends keyof FilesEvents>(type: K, detail: FilesEvents[K]['detail']): void {
    try {
      this.safeDispatchEvent(type, { detail })
    } catch (err) {
      this.log.error('files listener failed - %e', err)
    }
  }
}
