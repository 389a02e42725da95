import type { Connection, Logger, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { EPOCH_RE, GET_BATCH, ID_RE, IDS_PAGE, MAX_REQUEST, MAX_REQUESTS, TIMEOUT } from './constants.js'
import { InvalidSyncResponseError } from './errors.js'
import type { SyncComponents, SyncInit, SyncResult } from './index.js'
import { SyncRequest, SyncResponse } from './pb/sync.js'
import { startResync } from './resync.js'

type Ask = (req: SyncRequest) => Promise<SyncResponse>

/** The length prefix's size in bytes, for counting what a pass moves. */
const varintSize = (n: number) => (n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4)

/**
 * Pull sync with per-peer cursors. Each store numbers what it stores with a sequence that only grows
 * (under an epoch id); an asker keeps, per peer, the (epoch, seq) it got to and asks for what changed
 * after it: ids first, then the bodies it lacks. The cursor moves only after the page's items are
 * stored, so a crash costs at most a page asked again, never a gap; a new epoch means a full pass.
 */
export class SyncEngine {
  readonly protocol: string
  private readonly components: SyncComponents
  private readonly init: SyncInit
  private readonly log: Logger
  private readonly syncing = new Set<string>()
  private readonly syncAgain = new Set<string>()
  /** ids some pass is fetching now, and when that fetch ends: several passes never fetch one item twice */
  private readonly claimed = new Map<string, Promise<void>>()
  private topologyId?: string
  private started = false
  private stopResync?: () => void

  constructor(components: SyncComponents, init: SyncInit) {
    this.components = components
    this.init = init
    this.protocol = init.protocol
    this.log = components.logger.forComponent(`${init.logName}:sync`)
    this.handle = this.handle.bind(this)
  }

  async start(): Promise<void> {
    const { registrar } = this.components
    await registrar.handle(this.protocol, this.handle, {
      maxInboundStreams: 4,
      maxOutboundStreams: 4,
      runOnLimitedConnection: true,
    })
    this.topologyId = await registrar.register(this.protocol, {
      notifyOnLimitedConnection: true,
      onConnect: (peerId) => {
        void this.syncFrom(peerId)
      },
    })
    this.started = true
  }

  /** Pulls again when a peer's subscription to `topic` arrives, and from every peer now and then. */
  afterStart(topic: string): void {
    this.stopResync = startResync({
      pubsub: this.components.pubsub,
      connectionManager: this.components.connectionManager,
      topic,
      sync: (peer) => this.syncFrom(peer),
    })
  }

  async stop(): Promise<void> {
    this.started = false
    this.stopResync?.()
    const { registrar } = this.components
    if (this.topologyId != null) registrar.unregister(this.topologyId)
    await registrar.unhandle(this.protocol)
  }

  // ---- asking ----

  /** Pulls from `peer` what it stored since the cursor this node keeps for it. */
  async syncFrom(peerId: PeerId): Promise<SyncResult> {
    const peer = peerId.toString()
    const result: SyncResult = { fetched: 0, bytes: 0, ms: 0, complete: false }
    if (!this.started) return result
    if (this.syncing.has(peer)) {
      // asked again while pulling: pull once more afterwards, for what the running pass may miss
      this.syncAgain.add(peer)
      return result
    }
    this.syncing.add(peer)
    const t0 = Date.now()
    let stream: Stream | undefined
    try {
      const signal = AbortSignal.timeout(TIMEOUT * 10)
      stream = await this.components.connectionManager.openStream(peerId, this.protocol, {
        signal,
        runOnLimitedConnection: true,
      })
      const lp = lpStream(stream, { maxDataLength: this.init.maxResponse })
      const ask: Ask = async (req) => {
        const out = SyncRequest.encode(req)
        await lp.write(out, { signal })
        const inb = await lp.read({ signal })
        result.bytes +=
          out.byteLength + varintSize(out.byteLength) + inb.byteLength + varintSize(inb.byteLength)
        return SyncResponse.decode(inb, { limits: { ids: IDS_PAGE, items: GET_BATCH } })
      }
      result.complete = await this.pass(peer, ask, result)
      await stream.close({ signal }).catch(() => {})
    } catch (err) {
      stream?.abort(err as Error)
      this.log('sync from %s failed - %e', peer, err)
    } finally {
      this.syncing.delete(peer)
      result.ms = Date.now() - t0
      this.init.onDone?.(peer, result)
      if (this.syncAgain.delete(peer)) setTimeout(() => void this.syncFrom(peerId), 0)
    }
    return result
  }

  /** Pages through the peer's changes; true when it got to the end. */
  private async pass(peer: string, ask: Ask, result: SyncResult): Promise<boolean> {
    const { state } = this.init
    const saved = state.cursor(peer)
    let epoch = saved?.epoch ?? ''
    let after = saved?.seq ?? 0
    for (let page = 0; page < MAX_REQUESTS / 2 && this.started; page++) {
      const res = await ask({ kind: SyncRequest.Kind.CHANGES, epoch, after, ids: [] })
      if (!EPOCH_RE.test(res.epoch)) throw new InvalidSyncResponseError('a response without a valid epoch')
      // another epoch, or the peer's store went back: it answered from 0
      const from = res.epoch === epoch && !res.restart ? after : 0
      if (!Number.isSafeInteger(res.cursor) || res.cursor < from)
        throw new InvalidSyncResponseError(`cursor ${res.cursor} is before ${from}`)
      const wanted = res.ids.filter((id) => ID_RE.test(id) && !this.init.has(id))
      if (!(await this.fetchAll(peer, ask, wanted, result))) return false
      // the page's items are committed: only now may the cursor pass them
      if (res.epoch !== epoch || res.cursor !== after)
        state.setCursor(peer, { epoch: res.epoch, seq: res.cursor })
      epoch = res.epoch
      after = res.cursor
      if (!res.more) return true
    }
    return false
  }

  /** Fetches `ids` (some may be fetched by other passes); false if any may still be missing. */
  private async fetchAll(peer: string, ask: Ask, ids: string[], result: SyncResult): Promise<boolean> {
    if (ids.length === 0) return true
    const theirs = ids.filter((id) => this.claimed.has(id))
    let complete = await this.fetchOwn(
      peer,
      ask,
      ids.filter((id) => !this.claimed.has(id)),
      result,
    )
    if (theirs.length > 0) {
      await Promise.all(theirs.map((id) => this.claimed.get(id)))
      // what another pass was fetching and did not get: ask this peer
      const left = theirs.filter((id) => !this.init.has(id))
      if (left.some((id) => this.claimed.has(id))) complete = false
      complete = (await this.fetchOwn(peer, ask, left, result)) && complete
    }
    return complete
  }

  private async fetchOwn(peer: string, ask: Ask, ids: string[], result: SyncResult): Promise<boolean> {
    const queue = [...ids]
    while (queue.length > 0) {
      if (!this.started) return false
      const batch = queue.splice(0, GET_BATCH).filter((id) => !this.claimed.has(id) && !this.init.has(id))
      if (batch.length === 0) continue
      let release = () => {}
      const done = new Promise<void>((r) => {
        release = r
      })
      for (const id of batch) this.claimed.set(id, done)
      try {
        const res = await ask({ kind: SyncRequest.Kind.GET, epoch: '', after: 0, ids: batch })
        const got = await this.init.receive(res.items, new Set(batch), peer)
        result.fetched += got.fetched
        // refused for now (it depends on what this node holds): the cursor stays before it
        if (got.hold) return false
        const have = new Set(got.ids)
        const rest = batch.filter((id) => !have.has(id) && !this.init.has(id))
        // nothing usable came back: stop here, the next pass asks again from the same cursor
        if (have.size === 0 && rest.length > 0) return false
        // a response is cut at its byte limit: ask again for the rest
        queue.unshift(...rest)
      } finally {
        for (const id of batch) this.claimed.delete(id)
        release()
      }
    }
    return true
  }

  // ---- answering ----

  private async handle(stream: Stream, connection: Connection): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: MAX_REQUEST })
    try {
      for (let n = 0; n < MAX_REQUESTS; n++) {
        let req: SyncRequest
        try {
          req = SyncRequest.decode(await lp.read({ signal: AbortSignal.timeout(TIMEOUT) }), {
            limits: { ids: GET_BATCH },
          })
        } catch (err) {
          if ((err as Error).name === 'UnexpectedEOFError') break
          throw err
        }
        await lp.write(SyncResponse.encode(this.answer(req)))
      }
      await stream.close()
    } catch (err) {
      this.log('sync request from %p failed - %e', connection.remotePeer, err)
      stream.abort(err as Error)
    }
  }

  private answer(req: SyncRequest): SyncResponse {
    const { source } = this.init
    if (req.kind === SyncRequest.Kind.CHANGES) {
      const epoch = source.epoch()
      // a cursor beyond what this store ever numbered: the store went back (restored from a backup)
      const after = req.epoch === epoch && req.after <= source.head() ? req.after : 0
      const page = source.changes(after, IDS_PAGE)
      return {
        epoch,
        ids: page.ids,
        cursor: page.cursor,
        more: page.more,
        items: [],
        restart: after !== req.after,
      }
    }
    const items: Uint8Array<ArrayBuffer>[] = []
    let bytes = 0
    for (const id of req.ids.slice(0, GET_BATCH)) {
      const raw = source.raw(id)
      if (raw == null) continue
      if (bytes + raw.byteLength > this.init.responseBytes && items.length > 0) break
      bytes += raw.byteLength
      items.push(raw as Uint8Array<ArrayBuffer>)
    }
    return { epoch: '', ids: [], cursor: 0, more: false, items, restart: false }
  }
}
