// Discrete-event virtual time for the simulation process. In real time, hundreds of nodes share one
// process's CPU, so one node's handshake or verification delays every other node's timers and
// deliveries: the CPU becomes the queue and the figures describe the host, not the protocol. Here
// time stands still while any node has work to do, and jumps to the next timer only when every
// node is idle: CPU costs nothing, link delays and protocol timers take exactly their time.
//
// Faked while installed: setTimeout/setInterval and their clears (globals; no simulated module
// imports node:timers), Date (no-argument construction and Date.now), performance.now, and
// AbortSignal.timeout (native, on real timers otherwise: libp2p's dial and stream timeouts and the
// node's own would fire after real, not virtual, time). Not faked: setImmediate, process.nextTick and
// queueMicrotask, which is how idleness is told: the driver steps only after two rounds of real
// setImmediate in which no other immediate and no file-system request was pending.
//
// Not covered: a promise that waits on other real I/O (a worker thread's reply, e.g. a node's
// checkpointer) may see virtual time move on while it waits; nothing the nodes time depends on it.

const real = {
  setTimeout: globalThis.setTimeout,
  clearTimeout: globalThis.clearTimeout,
  setInterval: globalThis.setInterval,
  clearInterval: globalThis.clearInterval,
  setImmediate: globalThis.setImmediate,
  Date: globalThis.Date,
  now: performance.now.bind(performance),
  abortTimeout: AbortSignal.timeout.bind(AbortSignal),
}

/** Real milliseconds (performance.now before any faking): what a phase cost on the host. */
export const realNow = (): number => real.now()

/** Node's setTimeout coercion: a delay outside 1..2^31-1 ms (or not a number) is 1 ms. */
function coerce(ms: unknown): number {
  const n = Number(ms)
  return n >= 1 && n <= 2 ** 31 - 1 ? n : 1
}

let nextId = 1

/** The longest the driver waits (real ms) for a process that never goes idle before it steps anyway. */
const SETTLE_LIMIT_MS = 10_000

/** A fake timer with the parts of Node's Timeout object that libraries use. */
export class VirtualTimer {
  readonly id = nextId++
  /** bumped on each (re)schedule: heap entries of an older generation are stale */
  gen = 0
  active = true
  /** the real timer it moved to when the clock was uninstalled */
  real?: NodeJS.Timeout
  private refed = true
  private readonly clock: VirtualClock
  readonly callback: (...args: unknown[]) => void
  readonly delay: number
  readonly repeat: boolean
  readonly args: unknown[]
  constructor(
    clock: VirtualClock,
    callback: (...args: unknown[]) => void,
    delay: number,
    repeat: boolean,
    args: unknown[],
  ) {
    this.clock = clock
    this.callback = callback
    this.delay = delay
    this.repeat = repeat
    this.args = args
  }
  ref(): this {
    this.refed = true
    return this
  }
  unref(): this {
    this.refed = false
    return this
  }
  hasRef(): boolean {
    return this.refed
  }
  refresh(): this {
    this.clock.schedule(this)
    return this
  }
  close(): this {
    this.clock.clear(this)
    return this
  }
  [Symbol.toPrimitive](): number {
    return this.id
  }
}

interface Entry {
  due: number
  seq: number
  gen: number
  timer: VirtualTimer
}

export interface ClockStats {
  /** driver steps (each fires the timers due at one instant) */
  steps: number
  fired: number
  /** real setImmediate rounds spent waiting for the process to go idle */
  rounds: number
  /** steps taken although the process was still busy after SETTLE_LIMIT_MS (should stay 0) */
  forced: number
  /** real timers alive when last asked (realTimers()): anything on them runs on host time */
  realTimers?: number
}

export class VirtualClock {
  /** virtual ms on performance.now's scale */
  now: number
  /** Date.now() minus performance.now() when installed */
  private readonly epoch: number
  private readonly heap: Entry[] = []
  private readonly byId = new Map<number, VirtualTimer>()
  private seq = 0
  private installed = false
  private running = false
  readonly stats: ClockStats = { steps: 0, fired: 0, rounds: 0, forced: 0 }

  /**
   * `quietMs`: before each step, the real ms without a new timer the process must also stay quiet
   * (0: none; the bench's runs; a test on a shared host uses a few).
   */
  private readonly quietMs: number

  constructor(quietMs = 0) {
    this.quietMs = quietMs
    // a whole number, so virtual instants (now + whole-ms delays) are exact: 24, not 23.999999999999986
    this.now = Math.round(real.now())
    this.epoch = real.Date.now() - this.now
  }

  /** Virtual wall-clock ms (what Date.now returns while installed). */
  dateNow(): number {
    return Math.floor(this.epoch + this.now)
  }

  setTimer(callback: (...args: unknown[]) => void, ms: unknown, repeat: boolean, args: unknown[]) {
    if (typeof callback !== 'function')
      throw new TypeError('The "callback" argument must be of type function')
    const timer = new VirtualTimer(this, callback, coerce(ms), repeat, args)
    this.schedule(timer)
    return timer
  }

  schedule(timer: VirtualTimer): void {
    timer.gen++
    timer.active = true
    this.byId.set(timer.id, timer)
    this.push({ due: this.now + timer.delay, seq: this.seq++, gen: timer.gen, timer })
  }

  clear(handle: unknown): void {
    const timer =
      handle instanceof VirtualTimer
        ? handle
        : typeof handle === 'number' || typeof handle === 'string'
          ? this.byId.get(Number(handle))
          : undefined
    if (timer == null) {
      // a real timer made before the clock was installed
      if (handle != null && typeof handle === 'object') real.clearTimeout(handle as NodeJS.Timeout)
      return
    }
    timer.active = false
    this.byId.delete(timer.id)
  }

  /** Timers waiting to fire. */
  pending(): number {
    return this.byId.size
  }

  /** When the next live timer is due, or null. */
  nextDue(): number | null {
    this.dropStale()
    return this.heap[0]?.due ?? null
  }

  /** Moves time to the next due instant and fires every timer due then. False when none is pending. */
  step(): boolean {
    const due = this.nextDue()
    if (due == null) return false
    this.stats.steps++
    if (due > this.now) this.now = due
    while (this.heap.length > 0 && this.heap[0]!.due <= due) {
      const e = this.pop()
      if (e.gen !== e.timer.gen || !e.timer.active) continue
      this.fire(e.timer)
    }
    return true
  }

  /** Steps until virtual time reaches `until` (timers due then fire), settling in between. */
  async advanceTo(until: number): Promise<void> {
    for (;;) {
      await this.settle()
      const due = this.nextDue()
      if (due == null || due > until) break
      this.step()
    }
    if (until > this.now) this.now = until
  }

  private fire(timer: VirtualTimer): void {
    this.stats.fired++
    if (timer.repeat) this.schedule(timer)
    else {
      timer.active = false
      this.byId.delete(timer.id)
    }
    try {
      timer.callback(...timer.args)
    } catch (err) {
      // as from a real timer: an uncaught exception, not the driver's
      process.nextTick(() => {
        throw err
      })
    }
  }

  /**
   * Resolves once the process is idle: two consecutive real setImmediate rounds after which no other
   * immediate and no file-system request is pending (the first round lets the microtasks queued
   * behind the check run; anything they start shows in the second).
   */
  async settle(): Promise<void> {
    await this.settleOnce()
    // work that shows in no resource list (a crypto job, a worker's reply) may still be on its way: on a
    // loaded host, wait a real moment and settle again if anything scheduled a timer meanwhile
    while (this.quietMs > 0 && this.installed) {
      const seq = this.seq
      await new Promise((r) => real.setTimeout(r, this.quietMs))
      if (this.seq === seq && busy() == null) return
      await this.settleOnce()
    }
  }

  private async settleOnce(): Promise<void> {
    let quietRounds = 0
    const giveUp = real.now() + SETTLE_LIMIT_MS
    // an uninstalled clock's driver must stop at once, not wait on (and keep busy) a newer one's
    while (quietRounds < 2 && this.installed) {
      await new Promise((r) => real.setImmediate(r))
      this.stats.rounds++
      const b = busy()
      quietRounds = b == null ? quietRounds + 1 : 0
      // waiting on the thread pool: sleep a real millisecond rather than spin
      if (b === 'io') await new Promise((r) => real.setTimeout(r, 1))
      if (b != null && real.now() > giveUp) {
        this.stats.forced++
        return
      }
    }
  }

  /** Replaces the globals; `drive` then runs the process in virtual time until `uninstall`. */
  install(): this {
    if (this.installed) throw new Error('virtual clock already installed')
    this.installed = true
    const clock = this
    const g = globalThis as unknown as Record<string, unknown>
    g.setTimeout = (cb: (...a: unknown[]) => void, ms?: unknown, ...args: unknown[]) =>
      clock.setTimer(cb, ms, false, args)
    g.setInterval = (cb: (...a: unknown[]) => void, ms?: unknown, ...args: unknown[]) =>
      clock.setTimer(cb, ms, true, args)
    g.clearTimeout = (t: unknown) => clock.clear(t)
    g.clearInterval = (t: unknown) => clock.clear(t)
    const RealDate = real.Date
    g.Date = class VirtualDate extends RealDate {
      // only the no-argument form changes: it reads the virtual clock
      constructor(...args: unknown[]) {
        if (args.length === 0) super(clock.dateNow())
        else super(...(args as [string]))
      }
      static override now(): number {
        return clock.dateNow()
      }
    }
    performance.now = () => clock.now
    AbortSignal.timeout = (ms: number) => {
      const controller = new AbortController()
      clock
        .setTimer(
          () =>
            controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
          ms,
          false,
          [],
        )
        .unref()
      return controller.signal
    }
    return this
  }

  /**
   * Puts the real globals back. Timers still pending move to real timers with the time they had left,
   * so nothing that was waiting (a test runner's own timer, a closing connection's) is lost.
   */
  uninstall(): void {
    if (!this.installed) return
    this.installed = false
    this.running = false
    this.dropStale()
    for (const e of this.heap) {
      const timer = e.timer
      if (e.gen !== timer.gen || !timer.active) continue
      const run = () => timer.active && timer.callback(...timer.args)
      const first = real.setTimeout(
        () => {
          if (timer.repeat && timer.active) timer.real = real.setInterval(run, timer.delay)
          run()
        },
        Math.max(0, e.due - this.now),
      )
      timer.real = first
      if (!timer.hasRef()) first.unref()
    }
    this.heap.length = 0
    this.byId.clear()
    const g = globalThis as unknown as Record<string, unknown>
    g.setTimeout = real.setTimeout
    g.setInterval = real.setInterval
    // the clears stay wrapped: a timer made in virtual time may still be cleared by whoever holds it
    const clear = (t: unknown) => {
      if (t instanceof VirtualTimer) {
        t.active = false
        if (t.real != null) real.clearInterval(t.real)
      } else real.clearTimeout(t as NodeJS.Timeout)
    }
    g.clearTimeout = clear
    g.clearInterval = clear
    g.Date = real.Date
    delete (performance as unknown as Record<string, unknown>).now
    AbortSignal.timeout = real.abortTimeout
  }

  /**
   * The driver: settle, step, repeat, until uninstalled. With no timer pending it waits a real
   * millisecond for real I/O. Resolves when stopped.
   */
  async drive(): Promise<void> {
    if (this.running) return
    this.running = true
    while (this.running) {
      await this.settle()
      if (!this.running) break
      if (!this.step()) await new Promise((r) => real.setTimeout(r, 1))
    }
  }

  private push(e: Entry): void {
    const h = this.heap
    h.push(e)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(h[i]!, h[p]!)) break
      ;[h[i], h[p]] = [h[p]!, h[i]!]
      i = p
    }
  }

  private pop(): Entry {
    const h = this.heap
    const top = h[0]!
    const last = h.pop()!
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && before(h[l]!, h[m]!)) m = l
        if (r < h.length && before(h[r]!, h[m]!)) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m]!, h[i]!]
        i = m
      }
    }
    return top
  }

  private dropStale(): void {
    while (this.heap.length > 0) {
      const e = this.heap[0]!
      if (e.gen === e.timer.gen && e.timer.active) return
      this.pop()
    }
  }
}

const before = (a: Entry, b: Entry) => a.due < b.due || (a.due === b.due && a.seq < b.seq)

/** Real (unfaked) timers alive in this process: should stay near zero while the clock is installed. */
export function realTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
}

/**
 * Work the process is still doing outside the timers: pending immediates, file-system requests, and
 * handles being closed (a FileHandle's close is a CloseReq).
 */
function busy(): 'immediate' | 'io' | null {
  let io = false
  for (const r of process.getActiveResourcesInfo()) {
    if (r === 'Immediate') return 'immediate'
    if (r.startsWith('FSReq') || r === 'CloseReq') io = true
  }
  return io ? 'io' : null
}
