// The receiving side of a peer's delivery channel: frames are read in order, each message goes to the
// node's group commit, and acks are written only after the commit that holds them (and only while the
// store is still the one the node will find at its next start). One ack covers every frame up to a seq.
import type { Logger, Stream } from '@libp2p/interface'
import { type LengthPrefixedStream, lpStream } from '@libp2p/utils'
import { MAX_REASON_LENGTH } from './constants.js'
import { InvalidTaskMessageError } from './errors.js'
import { TaskAcks, TaskFrame } from './pb/task.js'

/** What became of one frame: done (stored, duplicate or refused for good), or not stored (no ack). */
export type FrameOutcome = { refused?: string } | { failed: unknown }

export interface InboundInit {
  stream: Stream
  peer: string
  /** largest frame accepted */
  maxFrame: number
  log: Logger
  /** waits while the peer is over its rate (backpressure: its frames are not read meanwhile) */
  admit: (bytes: number) => Promise<void>
  /** handles one message; settles after the commit that holds it */
  handle: (message: Uint8Array) => Promise<FrameOutcome>
  /** a frame that is not a frame at all (the stream is then closed) */
  invalid: (reason: string) => void
  canAck: () => boolean
}

interface Pending {
  seq: bigint
  outcome?: FrameOutcome
}

/** Cuts a reason to the wire's limit, on a character boundary. */
function shortReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_REASON_LENGTH) return reason
  let out = reason.slice(0, MAX_REASON_LENGTH)
  while (Buffer.byteLength(out) > MAX_REASON_LENGTH) out = out.slice(0, -1)
  return out
}

export class Inbound {
  private readonly init: InboundInit
  private readonly lp: LengthPrefixedStream<Stream>
  private readonly pending: Pending[] = []
  private expected = 1n
  private flushQueued = false
  private dead = false
  /** the last ack written */
  private written: Promise<void> = Promise.resolve()
  /** called when nothing is pending any more */
  private onIdle?: () => void

  constructor(init: InboundInit) {
    this.init = init
    // the read buffer must hold one whole frame, which may be configured above the 4 MiB default
    this.lp = lpStream(init.stream, {
      maxDataLength: init.maxFrame,
      maxBufferSize: init.maxFrame + 64 * 1024,
    })
  }

  async run(): Promise<void> {
    for (;;) {
      let bytes: Uint8Array
      try {
        bytes = (await this.lp.read()).subarray()
      } catch (err) {
        const name = (err as Error).name
        if (name === 'InvalidDataLengthError') {
          // refused from its length prefix alone; the stream cannot go on past a frame it did not read
          this.settleNow(this.expected++, { refused: `message over ${this.init.maxFrame} bytes` })
          this.init.invalid(`message over ${this.init.maxFrame} bytes`)
          await this.closeAfterAcks()
          return
        }
        // the sender closed its side: ack what is pending, then close ours (a reset ends it all)
        if (name === 'UnexpectedEOFError' || this.init.stream.readStatus !== 'readable') {
          await this.closeAfterAcks()
        }
        return
      }
      if (this.dead) return
      await this.init.admit(bytes.byteLength)
      let frame: TaskFrame
      try {
        frame = TaskFrame.decode(bytes)
      } catch (err) {
        this.init.invalid(`malformed frame: ${(err as Error).message}`)
        this.abort(new InvalidTaskMessageError('malformed frame'))
        return
      }
      const seq = this.expected++
      if (frame.seq !== seq) {
        this.init.invalid(`frame ${frame.seq} where ${seq} was due`)
        this.abort(new InvalidTaskMessageError('frames out of order'))
        return
      }
      const entry: Pending = { seq }
      this.pending.push(entry)
      this.init.handle(frame.message).then(
        (outcome) => this.settle(entry, outcome),
        (err: unknown) => this.settle(entry, { failed: err }),
      )
    }
  }

  private settleNow(seq: bigint, outcome: FrameOutcome): void {
    const entry: Pending = { seq, outcome }
    this.pending.push(entry)
    this.queueFlush()
  }

  private settle(entry: Pending, outcome: FrameOutcome): void {
    entry.outcome = outcome
    this.queueFlush()
  }

  /** Acks once per turn of settlements: one frame for all that one commit made durable. */
  private queueFlush(): void {
    if (this.flushQueued) return
    this.flushQueued = true
    queueMicrotask(() => {
      this.flushQueued = false
      this.flush()
    })
  }

  private flush(): void {
    if (this.dead) return
    let through = 0n
    const refused: Array<{ seq: bigint; reason: string }> = []
    while (this.pending.length > 0 && this.pending[0]!.outcome != null) {
      const { seq, outcome } = this.pending.shift()!
      if ('failed' in outcome!) {
        // not stored: no ack for it or anything after it; the sender sends them all again
        this.abort(outcome.failed instanceof Error ? outcome.failed : new Error(String(outcome.failed)))
        return
      }
      if (outcome!.refused != null) refused.push({ seq, reason: shortReason(outcome!.refused) })
      through = seq
    }
    if (through === 0n) {
      if (this.pending.length === 0) this.onIdle?.()
      return
    }
    // an ack only for what the next start will find: not after the store was removed or replaced
    if (!this.init.canAck()) {
      this.abort(new Error('the store is lost; no ack'))
      return
    }
    this.written = this.lp
      .write(TaskAcks.encode({ through, refused }))
      .catch((err: unknown) => this.abort(err as Error))
    if (this.pending.length === 0) this.onIdle?.()
  }

  /** Waits until what is pending is acked (or has failed), then closes the stream. */
  private async closeAfterAcks(): Promise<void> {
    if (this.pending.length > 0 && !this.dead) {
      await new Promise<void>((resolve) => {
        this.onIdle = resolve
      })
    }
    await this.written
    if (this.dead) return
    this.dead = true
    await this.init.stream.close().catch(() => {})
  }

  private abort(err: Error): void {
    if (this.dead) return
    this.dead = true
    this.onIdle?.()
    this.init.log('channel from %s closed - %e', this.init.peer, err)
    this.init.stream.abort(err)
  }
}
