import { afterEach, describe, expect, it, vi } from 'vitest'
import { Redialer, type RedialerInit, type RedialTarget } from '../../src/core/redialer.js'
import { Ticker } from '../../src/protocols/ticker.js'

const TICK = 5
const MIN = 10

const running: Redialer[] = []
afterEach(() => {
  for (const r of running.splice(0)) r.stop()
  vi.restoreAllMocks()
})

function redialer(init: RedialerInit = {}): Redialer {
  const r = new Redialer({ tick: TICK, idleTick: TICK, minDelay: MIN, maxDelay: 40, maxAttempts: 5, ...init })
  running.push(r)
  return r
}

interface FakeTarget extends RedialTarget {
  dials: number[]
  isConnected: boolean
}

/** A target whose dial fails (or succeeds with `succeed`) at once, recording when it was dialled. */
function target(opts: { permanent?: boolean; succeed?: boolean; connected?: boolean } = {}): FakeTarget {
  const t: FakeTarget = {
    dials: [],
    isConnected: opts.connected ?? false,
    permanent: opts.permanent ?? false,
    connected: () => t.isConnected,
    dial: async () => {
      t.dials.push(Date.now())
      if (opts.succeed !== true) throw new Error('unreachable')
    },
  }
  return t
}

/** Waits long enough for several ticks to have run. */
function ticks(n: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, n * TICK))
}

describe('Redialer', () => {
  it('dials a disconnected target right at start', async () => {
    const r = redialer()
    const t = target({ succeed: true })
    r.add('a', t)
    r.start()
    // start() ticks synchronously: the dial begins before any timer runs.
    expect(t.dials).toHaveLength(1)
  })

  it('dials a target added after start at the next tick', async () => {
    const r = redialer()
    r.start()
    const t = target({ succeed: true })
    r.add('a', t)
    await vi.waitFor(() => expect(t.dials).toHaveLength(1), { timeout: 500, interval: 2 })
  })

  it('does not dial a connected target, and dials it once disconnected', async () => {
    const r = redialer()
    const t = target({ connected: true, succeed: true })
    r.add('a', t)
    r.start()
    await ticks(8)
    expect(t.dials).toHaveLength(0)
    t.isConnected = false
    await vi.waitFor(() => expect(t.dials.length).toBeGreaterThan(0), { timeout: 500, interval: 2 })
  })

  it('does not start a second dial while one is in flight', async () => {
    const r = redialer()
    let finish!: () => void
    let dials = 0
    r.add('a', {
      permanent: true,
      connected: () => false,
      dial: () => {
        dials++
        return new Promise<void>((resolve) => {
          finish = resolve
        })
      },
    })
    r.start()
    await ticks(8)
    expect(dials).toBe(1)
    finish()
    // Still not connected after a "successful" dial: dialled again, with no backoff.
    await vi.waitFor(() => expect(dials).toBe(2), { timeout: 500, interval: 2 })
  })

  it('backs off after failures: the delay doubles from minDelay up to maxDelay', async () => {
    const failures: Array<{ attempt: number; next: number | undefined }> = []
    const r = redialer({
      maxAttempts: 100,
      onFailure: (_key, _err, attempt, next) => failures.push({ attempt, next }),
    })
    const t = target({ permanent: true })
    r.add('a', t)
    r.start()
    await vi.waitFor(() => expect(failures.length).toBeGreaterThanOrEqual(5), { timeout: 900, interval: 2 })
    r.stop()
    const bases = [10, 20, 40, 40, 40]
    for (let i = 0; i < bases.length; i++) {
      const { attempt, next } = failures[i]!
      expect(attempt).toBe(i + 1)
      expect(next).toBeGreaterThanOrEqual(Math.floor(bases[i]! * 0.8))
      expect(next).toBeLessThanOrEqual(Math.ceil(bases[i]! * 1.2))
    }
    // The dials really were spaced by at least the announced delay.
    for (let i = 1; i < 5; i++) {
      expect(t.dials[i]! - t.dials[i - 1]!).toBeGreaterThanOrEqual(failures[i - 1]!.next! - 1)
    }
  })

  it('resets the backoff after a successful dial', async () => {
    const attempts: number[] = []
    const r = redialer({ maxAttempts: 100, onFailure: (_k, _e, attempt) => attempts.push(attempt) })
    let calls = 0
    r.add('a', {
      permanent: false,
      connected: () => false,
      dial: async () => {
        calls++
        if (calls !== 3) throw new Error('no')
      },
    })
    r.start()
    await vi.waitFor(() => expect(attempts.length).toBeGreaterThanOrEqual(3), { timeout: 900, interval: 2 })
    // Fail, fail, succeed, fail: the failure after the success is attempt 1 again.
    expect(attempts.slice(0, 3)).toEqual([1, 2, 1])
  })

  it('drops a non-permanent target after maxAttempts failures', async () => {
    const seen: Array<{ key: string; message: string; attempt: number; next: number | undefined }> = []
    const r = redialer({
      maxAttempts: 3,
      onFailure: (key, err, attempt, next) => seen.push({ key, message: err.message, attempt, next }),
    })
    const t = target()
    r.add('peer:x', t)
    r.start()
    await vi.waitFor(() => expect(r.has('peer:x')).toBe(false), { timeout: 900, interval: 2 })
    expect(t.dials).toHaveLength(3)
    expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3])
    expect(seen.every((s) => s.key === 'peer:x' && s.message === 'unreachable')).toBe(true)
    // The last failure says there is no retry.
    expect(seen[0]!.next).toBeTypeOf('number')
    expect(seen[1]!.next).toBeTypeOf('number')
    expect(seen[2]!.next).toBeUndefined()
    await ticks(20)
    expect(t.dials).toHaveLength(3)
  })

  it('keeps a permanent target past maxAttempts', async () => {
    const attempts: number[] = []
    const r = redialer({ maxAttempts: 2, maxDelay: MIN, onFailure: (_k, _e, a) => attempts.push(a) })
    const t = target({ permanent: true })
    r.add('addr:x', t)
    r.start()
    await vi.waitFor(() => expect(t.dials.length).toBeGreaterThanOrEqual(5), { timeout: 900, interval: 2 })
    expect(r.has('addr:x')).toBe(true)
    expect(attempts.slice(0, 5)).toEqual([1, 2, 3, 4, 5])
  })

  it('does not dial a removed target', async () => {
    const r = redialer()
    const t = target()
    r.add('a', t)
    r.remove('a')
    expect(r.has('a')).toBe(false)
    r.start()
    await ticks(8)
    expect(t.dials).toHaveLength(0)
  })

  it('stops dialling after stop()', async () => {
    const r = redialer({ maxDelay: MIN, maxAttempts: 100 })
    const t = target({ permanent: true })
    r.add('a', t)
    r.start()
    await vi.waitFor(() => expect(t.dials.length).toBeGreaterThanOrEqual(2), { timeout: 500, interval: 2 })
    r.stop()
    const count = t.dials.length
    await ticks(10)
    expect(t.dials).toHaveLength(count)
  })

  it('dials a target replaced while its previous dial is in flight', async () => {
    const r = redialer()
    let fail!: (err: Error) => void
    r.add('a', {
      permanent: false,
      connected: () => false,
      dial: () =>
        new Promise<void>((_resolve, reject) => {
          fail = reject
        }),
    })
    r.start()
    await vi.waitFor(() => expect(fail).toBeTypeOf('function'), { timeout: 500, interval: 2 })
    const replacement = target({ succeed: true })
    r.add('a', replacement)
    fail(new Error('old dial failed'))
    await vi.waitFor(() => expect(replacement.dials.length).toBeGreaterThan(0), { timeout: 500, interval: 2 })
    expect(r.has('a')).toBe(true)
  })

  it('a throwing onFailure callback neither stops the redialer nor keeps a target to drop', async () => {
    const unhandled = vi.fn()
    process.on('unhandledRejection', unhandled)
    try {
      const r = redialer({
        maxAttempts: 3,
        maxDelay: MIN,
        onFailure: () => {
          throw new Error('listener bug')
        },
      })
      const t = target()
      r.add('a', t)
      r.start()
      await vi.waitFor(() => expect(r.has('a')).toBe(false), { timeout: 500, interval: 2 })
      expect(t.dials).toHaveLength(3)
      await ticks(2)
      expect(unhandled).not.toHaveBeenCalled()
    } finally {
      process.off('unhandledRejection', unhandled)
    }
  })
})

describe('Redialer.delay', () => {
  it('is minDelay * 2^(n-1), capped at maxDelay, within ±20% jitter', () => {
    const r = new Redialer({ minDelay: 100, maxDelay: 1_000 })
    const bases = [100, 200, 400, 800, 1_000, 1_000, 1_000]
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i]!
      for (let k = 0; k < 200; k++) {
        const d = r.delay(i + 1)
        expect(d).toBeGreaterThanOrEqual(base * 0.8)
        expect(d).toBeLessThanOrEqual(base * 1.2)
      }
    }
  })

  it('reaches both ends of the jitter range', () => {
    const r = new Redialer({ minDelay: 100, maxDelay: 1_000 })
    const random = vi.spyOn(Math, 'random')
    random.mockReturnValue(0)
    expect(r.delay(1)).toBe(80)
    expect(r.delay(20)).toBe(800)
    random.mockReturnValue(0.999999)
    expect(r.delay(1)).toBe(120)
    expect(r.delay(20)).toBe(1_200)
    random.mockReturnValue(0.5)
    expect(r.delay(3)).toBe(400)
  })

  it('jitters: repeated delays are not all equal', () => {
    const r = new Redialer({ minDelay: 1_000, maxDelay: 60_000 })
    const values = new Set(Array.from({ length: 50 }, () => r.delay(1)))
    expect(values.size).toBeGreaterThan(1)
  })

  it('treats attempt 0 or below like attempt 1 and does not overflow for huge attempts', () => {
    const r = new Redialer({ minDelay: 100, maxDelay: 1_000 })
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    expect(r.delay(0)).toBe(100)
    expect(r.delay(-3)).toBe(100)
    expect(r.delay(10_000)).toBe(1_000)
  })

  it('uses the documented defaults: 1 s doubling up to 60 s', () => {
    const r = new Redialer()
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    expect(r.delay(1)).toBe(1_000)
    expect(r.delay(2)).toBe(2_000)
    expect(r.delay(7)).toBe(60_000)
  })

  it('idle, with every target connected, it checks them every idleTick (5 s by default), not every tick', async () => {
    const r = new Redialer()
    running.push(r)
    let checks = 0
    r.add('a', {
      permanent: true,
      connected: () => {
        checks++
        return true
      },
      dial: async () => {},
    })
    r.start()
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    // one pass at start; the old 250 ms polling made five by now
    expect(checks).toBe(1)
  })

  it("with the node's ticker, runs its slow pass in the ticker's wake-ups and arms no timer of its own", async () => {
    // started 1 s past a 5 s mark: the ticker's first wake-up is more than `tick` after the pass at start
    vi.useFakeTimers({ now: 1_000_000_001_000 })
    try {
      const ticker = new Ticker({ phase: 0 })
      const others: number[] = []
      ticker.every(5_000, () => others.push(Date.now()))
      const r = new Redialer({ ticker })
      running.push(r)
      const checks: number[] = []
      r.add('a', {
        permanent: true,
        connected: () => {
          checks.push(Date.now())
          return true
        },
        dial: async () => {},
      })
      r.start()
      await vi.advanceTimersByTimeAsync(20_000)
      // the pass at start, then one at each of the ticker's wake-ups, at the same moments as its other chore
      expect(checks.slice(1)).toEqual(others)
      expect(others).toHaveLength(4)
      // between wake-ups only the ticker's timer is pending
      expect(vi.getTimerCount()).toBe(1)
    } finally {
      vi.useRealTimers()
    }
  })

  it('redials a target as soon as it is poked about a disconnect, and no sooner than tick after the last pass', async () => {
    const r = new Redialer({ tick: 50 })
    running.push(r)
    const t = target({ succeed: true, connected: true })
    r.add('a', t)
    r.start()
    await new Promise((resolve) => setTimeout(resolve, 80))
    t.isConnected = false
    const poked = Date.now()
    r.poke()
    await vi.waitFor(() => expect(t.dials).toHaveLength(1), { timeout: 1_000, interval: 2 })
    expect(t.dials[0]! - poked).toBeLessThan(40)
    // a target whose connection drops at once is not dialled in a loop: passes are tick apart
    r.poke()
    r.poke()
    await vi.waitFor(() => expect(t.dials).toHaveLength(2), { timeout: 1_000, interval: 2 })
    expect(t.dials[1]! - t.dials[0]!).toBeGreaterThanOrEqual(45)
  })

  it('wakes for a backed-off target when it is due, with a long idleTick', async () => {
    const failures: number[] = []
    const r = redialer({
      idleTick: 60_000,
      maxAttempts: 100,
      onFailure: (_k, _e, attempt) => failures.push(attempt),
    })
    const t = target({ permanent: true })
    r.add('a', t)
    r.start()
    await vi.waitFor(() => expect(failures.length).toBeGreaterThanOrEqual(4), { timeout: 900, interval: 2 })
  })
})
