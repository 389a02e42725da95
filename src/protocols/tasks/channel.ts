// The sending side of the delivery channel to one peer: one long-lived stream on which task messages
// are pipelined in order, acknowledged cumulatively by the receiver after the commit that holds them.
// At most MAX_IN_FLIGHT_PER_PEER messages are unacknowledged (the window); more wait in a bounded
// queue. When the stream fails, everything on it goes back to the outbox's retry schedule, and the next
// message opens a new stream.
import type { Logger, PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { type LengthPrefixedStream, lpStream } from '@libp2p/utils'
import {
  CHANNEL_IDLE,
  MAX_ACKS_SIZE,
  MAX_IN_FLIGHT_PER_PEER,
  MAX_QUEUED_PER_PEER,
  SEND_TIMEOUT,
} from './constants.js'
import { TaskAcks, TaskFrame } from './pb/task.js'
import type { OutboxRow } from './task-store.js'

/** A message the receiver is done with: committed (or had already), or refused for good (`refusal`). */
export interface Settled {
  row: OutboxRow
  refusal?: string
}

export interface ChannelEvents {
  /** what one ack frame settled, in seq order (recorded together, in one piece of one commit) */
  settled: (messages: Settled[]) => void
  /** not acknowledged: the stream failed; `startedAt` is when the stream was opened */
  failed: (rows: OutboxRow[], error: unknown, startedAt: number) => void
  /** there is room again after the queue was full (messages were left in the outbox) */
  drained: () => void
}

export interface ChannelInit {
  peer: PeerId
  protocol: string
  connectionManager: ConnectionManager
  /** close the stream after this long with nothing in flight (ms; default CHANNEL_IDLE) */
  idle?: number
  log: Logger
  events: ChannelEvents
}

export class Channel {
  private readonly init: ChannelInit
  private stream?: Stream
  private lp?: LengthPrefixedStream<Stream>
  private opening = false
  private openedAt = 0
  private nextSeq = 1n
  /** written, not yet acknowledged, in seq order */
  private readonly inFlight = new Map<bigint, OutboxRow>()
  /** not yet written */
  private queue: OutboxRow[] = []
  /** msg ids in flight or queued */
  private readonly held = new Set<string>()
  private overflowed = false
  private pumpQueued = false
  private ackTimer?: ReturnType<typeof setTimeout>
  private idleTimer?: ReturnType<typeof setTimeout>
  private closed = false

  constructor(init: ChannelInit) {
    this.init = init
  }

  /** Messages this channel holds (in flight or queued). */
  get size(): number {
    return this.held.size
  }

  has(msgId: string): boolean {
    return this.held.has(msgId)
  }

  /** Queues a message; false (and it stays in the outbox for later) when the channel is full. */
  offer(row: OutboxRow): boolean {
    if (this.closed) return false
    if (this.held.has(row.msgId)) return true
    if (this.held.size >= MAX_IN_FLIGHT_PER_PEER + MAX_QUEUED_PER_PEER) {
      this.overflowed = true
      return false
    }
    this.held.add(row.msgId)
    this.queue.push(row)
    this.pumpSoon()
    return true
  }

  /**
   * Pumps once the current run of offers is over: the rows one commit hands over (a batch of them)
   * go out as one write, so one muxer frame and one encryption cover them rather than one each.
   */
  private pumpSoon(): void {
    if (this.pumpQueued) return
    this.pumpQueued = true
    queueMicrotask(() => {
      this.pumpQueued = false
      this.pump()
    })
  }

  /** Writes what the window allows, opening the stream first if there is none. */
  private pump(): void {
    if (this.closed || this.queue.length === 0) return
    if (this.lp == null) {
      if (!this.opening) void this.open()
      return
    }
    const frames: Uint8Array[] = []
    while (this.queue.length > 0 && this.inFlight.size < MAX_IN_FLIGHT_PER_PEER) {
      const row = this.queue.shift()!
      const seq = this.nextSeq++
      this.inFlight.set(seq, row)
      frames.push(TaskFrame.encode({ seq, message: row.payload as Uint8Array<ArrayBuffer> }))
    }
    if (frames.length === 0) return
    clearTimeout(this.idleTimer)
    this.armAckTimer()
    const stream = this.stream!
    // one write for the lot; the stream keeps them in order
    this.lp.writeV(frames).catch((err: unknown) => this.fail(stream, err))
  }

  private async open(): Promise<void> {
    this.opening = true
    const startedAt = Date.now()
    let stream: Stream | undefined
    try {
      stream = await this.init.connectionManager.openStream(this.init.peer, this.init.protocol, {
        signal: AbortSignal.timeout(SEND_TIMEOUT),
        runOnLimitedConnection: true,
      })
    } catch (err) {
      this.opening = false
      this.failAll(err, startedAt)
      return
    }
    this.opening = false
    if (this.closed) {
      stream.abort(new Error('channel closed'))
      return
    }
    this.stream = stream
    this.lp = lpStream(stream, { maxDataLength: MAX_ACKS_SIZE })
    this.openedAt = startedAt
    this.nextSeq = 1n
    void this.readAcks(stream, this.lp)
    this.pump()
  }

  private async readAcks(stream: Stream, lp: LengthPrefixedStream<Stream>): Promise<void> {
    try {
      for (;;) {
        const acks = TaskAcks.decode(await lp.read())
        if (this.stream !== stream) return
        this.settle(acks)
      }
    } catch (err) {
      this.fail(stream, err)
    }
  }

  private settle(acks: TaskAcks): void {
    const refused = new Map(acks.refused.map((r) => [r.seq, r.reason]))
    const settled: Settled[] = []
    for (const [seq, row] of this.inFlight) {
      if (seq > acks.through) break
      this.inFlight.delete(seq)
      this.held.delete(row.msgId)
      const reason = refused.get(seq)
      settled.push(reason != null ? { row, refusal: reason || 'refused' } : { row })
    }
    if (settled.length > 0) this.init.events.settled(settled)
    this.armAckTimer()
    this.pump()
    if (this.inFlight.size === 0 && this.queue.length === 0) this.armIdleTimer()
    if (this.overflowed && this.held.size < MAX_QUEUED_PER_PEER / 2) {
      this.overflowed = false
      this.init.events.drained()
    }
  }

  /** Fails the stream when unacknowledged messages see no ack for SEND_TIMEOUT. */
  private armAckTimer(): void {
    clearTimeout(this.ackTimer)
    this.ackTimer = undefined
    if (this.inFlight.size === 0) return
    const stream = this.stream
    this.ackTimer = setTimeout(() => {
      if (stream != null) this.fail(stream, new Error(`no ack in ${SEND_TIMEOUT} ms`))
    }, SEND_TIMEOUT)
    this.ackTimer.unref?.()
  }

  private armIdleTimer(): void {
    clearTimeout(this.idleTimer)
    const stream = this.stream
    this.idleTimer = setTimeout(() => {
      if (stream == null || this.stream !== stream || this.held.size > 0) return
      this.stream = undefined
      this.lp = undefined
      void stream.close().catch(() => stream.abort(new Error('close failed')))
    }, this.init.idle ?? CHANNEL_IDLE)
    this.idleTimer.unref?.()
  }

  /** The stream failed: what it carried, and what waited for it, goes back to the retry schedule. */
  private fail(stream: Stream, err: unknown): void {
    if (this.stream !== stream) return
    this.stream = undefined
    this.lp = undefined
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    this.failAll(err, this.openedAt)
  }

  private failAll(err: unknown, startedAt: number): void {
    clearTimeout(this.ackTimer)
    const rows = [...this.inFlight.values(), ...this.queue]
    this.inFlight.clear()
    this.queue = []
    this.held.clear()
    this.overflowed = false
    if (rows.length > 0) this.init.events.failed(rows, err, startedAt)
  }

  /** Closes the stream; what is unacknowledged stays in the outbox for the next start. */
  close(): void {
    this.closed = true
    clearTimeout(this.ackTimer)
    clearTimeout(this.idleTimer)
    const stream = this.stream
    this.stream = undefined
    this.lp = undefined
    this.inFlight.clear()
    this.queue = []
    this.held.clear()
    stream?.abort(new Error('tasks stopped'))
  }
}
