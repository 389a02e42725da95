// One timer for a node's periodic chores. Each wake-up of an idle process costs CPU before any work is
// done: about 0.18 ms on the benchmark VM for a bare Node process (docs/benchmarks.md), and at idle a
// node had five chores (peer review, redial pass, peer-record flush, presence sweep, hub check) waking it
// on five phases every few seconds. Chores registered here share wake-ups: each falls due on a grid of
// its period, shifted by one random offset per ticker, so chores whose periods divide one another fall
// due together. The offset differs between nodes, so the nodes of one host do not all wake at once.

/** Chores due within this many ms of a wake-up run in it rather than in one of their own. */
const GATHER_MS = 20

interface Chore {
  period: number
  run: () => void
  /** next time it is due (ms, the ticker's clock) */
  due: number
}

export interface TickerInit {
  /** the clock (Date.now); the timers are the global ones, so fake timers drive both */
  now?: () => number
  /** the grid's offset in ms, as a fraction of a minute (random by default) */
  phase?: number
}

export class Ticker {
  private readonly chores = new Set<Chore>()
  private readonly now: () => number
  private readonly offset: number
  private timer?: ReturnType<typeof setTimeout>
  private timerAt = Number.POSITIVE_INFINITY

  constructor(init: TickerInit = {}) {
    this.now = init.now ?? Date.now
    this.offset = Math.floor((init.phase ?? Math.random()) * 60_000)
  }

  /** Runs `run` every `period` ms (from the next grid point on) until the returned function is called. */
  every(period: number, run: () => void): () => void {
    if (!Number.isFinite(period) || period < 1) throw new RangeError(`a chore's period must be >= 1 ms`)
    const chore: Chore = { period, run, due: this.after(period, this.now()) }
    this.chores.add(chore)
    this.arm()
    return () => {
      this.chores.delete(chore)
      if (this.chores.size === 0) this.disarm()
    }
  }

  /** Cancels every chore (the node stops). */
  clear(): void {
    this.chores.clear()
    this.disarm()
  }

  /** The first grid point of `period` after `t`. */
  private after(period: number, t: number): number {
    const shift = this.offset % period
    return Math.floor((t - shift) / period) * period + shift + period
  }

  private arm(): void {
    let first = Number.POSITIVE_INFINITY
    for (const c of this.chores) first = Math.min(first, c.due)
    if (first === this.timerAt) return
    this.disarm()
    if (first === Number.POSITIVE_INFINITY) return
    this.timerAt = first
    this.timer = setTimeout(() => this.fire(), Math.max(0, first - this.now()))
  }

  private disarm(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.timerAt = Number.POSITIVE_INFINITY
  }

  private fire(): void {
    this.timer = undefined
    this.timerAt = Number.POSITIVE_INFINITY
    const now = this.now()
    for (const chore of [...this.chores]) {
      if (chore.due > now + GATHER_MS || !this.chores.has(chore)) continue
      chore.due = this.after(chore.period, Math.max(now, chore.due))
      try {
        chore.run()
      } catch {
        // a chore's own errors are its own: the others still run, and it runs again next time
      }
    }
    this.arm()
  }
}
