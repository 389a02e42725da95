// Keeps trying to reach peers we should be connected to, with exponential backoff and jitter.
// Targets are bootstrap addresses (--peer) and peers we knew (remembered, or dropped connections).
// Driven by events, not by polling: a pass runs when a target is added, when the owner reports a
// disconnect (poke), and when a backed-off target is due; a slow pass (idleTick) catches a disconnect
// nobody reported. An idle node with every target connected wakes every 5 s instead of 4 times a second,
// and with a ticker (the node's) that pass shares its wake-up with the node's other chores.
import type { Ticker } from '../protocols/ticker.js'

export interface RedialTarget {
  /** What to dial: a multiaddr string or a PeerId string. */
  dial: () => Promise<void>
  /** Whether the target is reached already (then it is not dialled). */
  connected: () => boolean
  /** Kept forever (bootstrap) or dropped after `maxAttempts` failures (remembered peers). */
  permanent: boolean
}

export interface RedialerInit {
  minDelay?: number
  maxDelay?: number
  /** Failures after which a non-permanent target is dropped. */
  maxAttempts?: number
  /** The shortest time between two passes, in ms (250): a target that drops at once is not redialled in a loop. */
  tick?: number
  /** A pass at least this often, in ms (5,000), for a disconnect no one poked about. */
  idleTick?: number
  /** runs the slow pass with the node's other periodic chores (its own timer when absent) */
  ticker?: Ticker
  onFailure?: (key: string, err: Error, attempt: number, nextInMs: number | undefined) => void
}

interface State {
  target: RedialTarget
  attempt: number
  nextAt: number
  dialing: boolean
}

export class Redialer {
  private readonly targets = new Map<string, State>()
  private readonly minDelay: number
  private readonly maxDelay: number
  private readonly maxAttempts: number
  private readonly tickMs: number
  private readonly idleTickMs: number
  private readonly onFailure: RedialerInit['onFailure']
  private timer?: ReturnType<typeof setTimeout>
  /** when the pending timer fires (ms since the epoch) */
  private timerAt = Number.POSITIVE_INFINITY
  private lastPass = 0
  private running = false
  private readonly ticker?: Ticker
  private stopSlowPass?: () => void

  constructor(init: RedialerInit = {}) {
    this.minDelay = init.minDelay ?? 1_000
    this.maxDelay = init.maxDelay ?? 60_000
    this.maxAttempts = init.maxAttempts ?? 20
    this.tickMs = init.tick ?? 250
    this.idleTickMs = Math.max(this.tickMs, init.idleTick ?? 5_000)
    this.onFailure = init.onFailure
    this.ticker = init.ticker
  }

  /** Adds or replaces a target; it is dialled at the next pass (at once, or `tick` ms after the last). */
  add(key: string, target: RedialTarget): void {
    const existing = this.targets.get(key)
    this.targets.set(key, {
      target,
      attempt: existing?.attempt ?? 0,
      nextAt: 0,
      // A dial still in flight belongs to the replaced state and clears only its flag, so the new state
      // must start idle: copying `dialing: true` here left the replacement never dialled again.
      dialing: false,
    })
    this.poke()
  }

  /** A target may have lost its connection: run a pass soon. */
  poke(): void {
    this.schedule(0)
  }

  remove(key: string): void {
    this.targets.delete(key)
  }

  has(key: string): boolean {
    return this.targets.has(key)
  }

  start(): void {
    if (this.running) return
    this.running = true
    this.stopSlowPass = this.ticker?.every(this.idleTickMs, () => this.slowPass())
    this.tick()
  }

  stop(): void {
    this.running = false
    this.stopSlowPass?.()
    clearTimeout(this.timer)
    this.timer = undefined
    this.timerAt = Number.POSITIVE_INFINITY
  }

  /** Makes the next pass run in `delay` ms at the latest (never sooner than `tick` after the last). */
  private schedule(delay: number): void {
    if (!this.running) return
    const now = Date.now()
    const at = Math.max(now + delay, this.lastPass + this.tickMs)
    if (at >= this.timerAt) return
    clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.timerAt = Number.POSITIVE_INFINITY
      this.tick()
    }, at - now)
  }

  /** The ticker's slow pass: run in its wake-up, not in one of its own a moment later. */
  private slowPass(): void {
    if (!this.running) return
    if (Date.now() - this.lastPass < this.tickMs) {
      this.schedule(0)
      return
    }
    clearTimeout(this.timer)
    this.timer = undefined
    this.timerAt = Number.POSITIVE_INFINITY
    this.tick()
  }

  /** Backoff before attempt n (n >= 1), with ±20% jitter so peers do not dial in lockstep. */
  delay(attempt: number): number {
    const base = Math.min(this.maxDelay, this.minDelay * 2 ** Math.max(0, attempt - 1))
    return Math.round(base * (0.8 + Math.random() * 0.4))
  }

  private tick(): void {
    const now = Date.now()
    this.lastPass = now
    // the next pass: the slow one (the ticker's, when there is one), or sooner for a backed-off target
    // that falls due before it
    let next = this.ticker != null ? Number.POSITIVE_INFINITY : now + this.idleTickMs
    for (const [key, state] of this.targets) {
      if (state.dialing) continue
      if (now < state.nextAt) {
        next = Math.min(next, state.nextAt)
        continue
      }
      if (state.target.connected()) {
        state.attempt = 0
        continue
      }
      state.dialing = true
      state.target
        .dial()
        .then(() => {
          state.attempt = 0
        })
        .catch((err: Error) => {
          state.attempt++
          const drop = !state.target.permanent && state.attempt >= this.maxAttempts
          const wait = drop ? undefined : this.delay(state.attempt)
          state.nextAt = Date.now() + (wait ?? 0)
          try {
            this.onFailure?.(key, err, state.attempt, wait)
          } catch {
            // A failing listener must neither skip the drop below nor become an unhandled rejection.
          }
          if (drop && this.targets.get(key) === state) this.targets.delete(key)
          // its backoff has just been set: wake when it is due
          if (wait != null) this.schedule(wait)
        })
        .finally(() => {
          state.dialing = false
        })
    }
    if (next !== Number.POSITIVE_INFINITY) this.schedule(next - now)
  }
}
