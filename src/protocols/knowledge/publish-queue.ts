// The sender's side of the per-author rate: this node's own broadcasts are stored at once and go out on
// gossip from this in-order queue no faster than receivers accept them (their RateLimiter drops the
// excess). The store is the queue: what is stored and not yet published is found there after a restart.

export interface QueuedBroadcast {
  seq: number
  raw: Uint8Array
}

export interface PublishQueueInit {
  /** broadcasts sent per second, and how many may go at once (kept under the receivers' rate and burst) */
  rate: number
  burst: number
  /** most broadcasts waiting; past it publishing is refused (PublishBacklogError) */
  maxPending: number
  /** how many wait now (stored, not yet published) */
  pending: number
  /** the oldest one waiting, if any */
  next: () => QueuedBroadcast | undefined
  /** hands one to gossip; a failure is logged, not retried (history sync carries it) */
  send: (raw: Uint8Array) => Promise<void>
  /** records durably that everything up to `seq` went out */
  sent: (seq: number) => void
  /** true when no peer listens on the topic: then nothing is paced (history sync carries it all) */
  unheard?: () => boolean
  now?: () => number
  sleep?: (ms: number) => Promise<void>
  onError?: (err: unknown) => void
}

const realSleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref?.()
  })

export class PublishQueue {
  private readonly init: PublishQueueInit
  private readonly now: () => number
  private readonly sleep: (ms: number) => Promise<void>
  private tokens: number
  private at: number
  private waiting: number
  private running?: Promise<void>
  private started = false

  constructor(init: PublishQueueInit) {
    this.init = init
    this.now = init.now ?? Date.now
    this.sleep = init.sleep ?? realSleep
    this.tokens = init.burst
    this.at = this.now()
    this.waiting = init.pending
  }

  /** Broadcasts stored and not yet published. */
  pending(): number {
    return this.waiting
  }

  /** Seconds until one more would fit, or undefined when it fits now. */
  refusal(): number | undefined {
    const over = this.waiting + 1 - this.init.maxPending
    return over > 0 ? Math.max(1, Math.ceil(over / this.init.rate)) : undefined
  }

  /** Counts one about to be stored (undo with release() if storing fails). */
  reserve(): void {
    this.waiting++
  }

  release(): void {
    this.waiting = Math.max(0, this.waiting - 1)
  }

  start(): void {
    this.started = true
    this.kick()
  }

  /** Stops sending; what waits stays stored and goes out after the next start. */
  async stop(): Promise<void> {
    this.started = false
    await this.running
  }

  /** Something was stored: send it when its turn comes. */
  kick(): void {
    if (!this.started || this.running != null) return
    this.running = this.drain().finally(() => {
      this.running = undefined
    })
  }

  /** Resolves when nothing waits (or the queue stopped). */
  async idle(): Promise<void> {
    while (this.running != null) await this.running
  }

  private async drain(): Promise<void> {
    while (this.started) {
      const item = this.init.next()
      if (item == null) return
      if (this.init.unheard?.() === true) {
        this.init.sent(item.seq)
        this.release()
        continue
      }
      const wait = this.takeToken()
      if (wait > 0) {
        await this.sleep(wait)
        continue
      }
      try {
        await this.init.send(item.raw)
      } catch (err) {
        this.init.onError?.(err)
      }
      try {
        this.init.sent(item.seq)
      } catch (err) {
        // not recorded: it goes out again (receivers drop the duplicate); stop rather than spin
        this.init.onError?.(err)
        return
      }
      this.release()
    }
  }

  /** Takes a token and returns 0, or returns the ms until one is there. */
  private takeToken(): number {
    const now = this.now()
    this.tokens = Math.min(this.init.burst, this.tokens + ((now - this.at) / 1000) * this.init.rate)
    this.at = now
    if (this.tokens >= 1) {
      this.tokens -= 1
      return 0
    }
    return Math.ceil(((1 - this.tokens) / this.init.rate) * 1000)
  }
}
