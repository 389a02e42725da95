// Fetching blobs from peers: one transfer per blob at a time, a bounded number at once, the author
// first and then every connected peer.
import type { Logger, PeerId } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { peerIdFromString } from '@libp2p/peer-id'
import type { BlobStore } from './blob-store.js'
import { fetchBlob } from './blob-transfer.js'
import { MAX_CONCURRENT_FETCHES, SYNC_TIMEOUT } from './constants.js'
import { FileError } from './errors.js'
import type { FilesEvents } from './index.js'

/** Whether a blob is on this node now, and if not, why (a sentence for the user). */
export type BlobResult = { ok: true } | { ok: false; reason: string }

type BlobEvent = 'blob:fetched' | 'blob:invalid' | 'blob:progress'

export interface BlobFetcherInit {
  components: { peerId: PeerId; connectionManager: ConnectionManager }
  blobs: BlobStore
  /** the blob protocol id */
  protocol: string
  log: Logger
  /** whether the service runs (a stopped one starts no transfer) */
  running: () => boolean
  dispatch: <K extends BlobEvent>(type: K, detail: FilesEvents[K]['detail']) => void
}

export class BlobFetcher {
  private readonly init: BlobFetcherInit
  private readonly fetching = new Map<string, Promise<BlobResult>>()
  private readonly queue: Array<{ sha256: string; size: number; author: string }> = []
  private active = 0

  constructor(init: BlobFetcherInit) {
    this.init = init
  }

  /** Fetches a blob from one peer; false if it does not have it; throws if the transfer fails. */
  private async fetchFrom(peer: string, sha256: string, size: number): Promise<boolean> {
    const stream = await this.init.components.connectionManager.openStream(
      peerIdFromString(peer),
      this.init.protocol,
      {
        signal: AbortSignal.timeout(SYNC_TIMEOUT),
        runOnLimitedConnection: true,
      },
    )
    const writer = await this.init.blobs.writer({ sha256, size })
    try {
      const found = await fetchBlob(stream, sha256, size, writer, (received) =>
        this.init.dispatch('blob:progress', { sha256, received, size }),
      )
      if (found) await writer.finish()
      else await writer.abort()
      await stream.close().catch(() => {})
      return found
    } catch (err) {
      await writer.abort()
      stream.abort(err as Error)
      throw err
    }
  }

  /**
   * Makes sure this node holds a blob: fetched from the author first, then from any connected peer.
   * A corrupted or truncated transfer is discarded and the next peer tried.
   */
  ensure(sha256: string, size: number, author?: string): Promise<BlobResult> {
    const running = this.fetching.get(sha256)
    if (running != null) return running
    const job = (async (): Promise<BlobResult> => {
      if (await this.init.blobs.has(sha256)) return { ok: true }
      const self = this.init.components.peerId.toString()
      const connected = this.init.components.connectionManager
        .getConnections()
        .map((c) => c.remotePeer.toString())
      const peers = [...new Set([...(author != null && author !== self ? [author] : []), ...connected])]
      const failures: string[] = []
      for (const peer of peers) {
        try {
          if (await this.fetchFrom(peer, sha256, size)) {
            this.init.dispatch('blob:fetched', { sha256, size, peer })
            return { ok: true }
          }
        } catch (err) {
          const reason = (err as Error).message
          // a ping that gave up, a reset, a peer that went away: say the connection went, not just "EOF"
          const lost =
            this.init.components.connectionManager.getConnections(peerIdFromString(peer)).length === 0
          failures.push(
            `from ${peer.slice(0, 16)}… ${reason}${lost ? ' (the connection to it was lost)' : ''}`,
          )
          if (err instanceof FileError) this.init.dispatch('blob:invalid', { sha256, peer, reason })
          else this.init.log('fetching %s from %s failed - %e', sha256, peer, err)
        }
      }
      // say what happened: "nobody has it" only when no transfer was tried and failed
      if (failures.length > 0) return { ok: false, reason: `fetching it failed: ${failures.join('; ')}` }
      if (peers.length === 0) return { ok: false, reason: 'no peer is connected' }
      return { ok: false, reason: 'no connected peer has it' }
    })().finally(() => this.fetching.delete(sha256))
    this.fetching.set(sha256, job)
    return job
  }

  /** Queues a blob for fetching, at most MAX_CONCURRENT_FETCHES at once. */
  enqueue(sha256: string, size: number, author: string): void {
    if (this.fetching.has(sha256) || this.queue.some((q) => q.sha256 === sha256)) return
    this.queue.push({ sha256, size, author })
    this.drain()
  }

  private drain(): void {
    while (this.init.running() && this.active < MAX_CONCURRENT_FETCHES && this.queue.length > 0) {
      const next = this.queue.shift()!
      this.active++
      void this.ensure(next.sha256, next.size, next.author)
        .catch(() => undefined)
        .finally(() => {
          this.active--
          this.drain()
        })
    }
  }
}
