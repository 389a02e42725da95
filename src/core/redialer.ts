// Keeps trying to reach peers we should be connected to, with exponential backoff and jitter.
// Targets are bootstrap addresses (--peer) and peers we knew (remembered, or dropped connections).

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
  tick?: number
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
  private readonly onFailure: RedialerInit['onFailure']
  private timer?: ReturnType<typeof setInterval>

  constructor(init: RedialerInit = {}) {
    this.minDelay = init.minDelay ?? 1_000
    this.maxDelay = init.maxDelay ?? 60_000
    this.maxAttempts = init.maxAttempts ?? 20
    this.tickMs = init.tick ?? 250
    this.onFailure = init.onFailure
  }

  /** Adds or replaces a target; it is dialled at the next tick. */
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
  }

  remove(key: string): void {
    this.targets.delete(key)
  }

  has(key: string): boolean {
    return this.targets.has(key)
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.tickMs)
    this.tick()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** Backoff before attempt n (n >= 1), with ±20% jitter so peers do not dial in lockstep. */
  delay(attempt: number): number {
    const base = Math.min(this.maxDelay, this.minDelay * 2 ** Math.max(0, attempt - 1))
    return Math.round(base * (0.8 + Math.random() * 0.4))
  }

  private tick(): void {
    const now = Date.now()
    for (const [key, state] of this.targets) {
      if (state.dialing || now < state.nextAt) continue
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
        })
        .finally(() => {
          state.dialing = false
        })
    }
  }
}
