import { describe, expect, it } from 'vitest'
import { BURST, RATE } from '../../src/protocols/knowledge/constants.js'
import { RateLimiter } from '../../src/protocols/rate-limiter.js'

const T0 = 1_700_000_000_000

function limiter(rate = RATE, burst = BURST) {
  const clock = { now: T0 }
  const rl = new RateLimiter(rate, burst, () => clock.now)
  return { rl, clock }
}

/** How many of `n` takes for `key` pass. */
function takes(rl: RateLimiter, key: string, n: number): number {
  let passed = 0
  for (let i = 0; i < n; i++) if (rl.take(key)) passed++
  return passed
}

describe('RateLimiter', () => {
  it('lets a burst of BURST through and refuses the next', () => {
    const { rl } = limiter()
    for (let i = 0; i < BURST; i++) expect(rl.take('alice'), `take ${i}`).toBe(true)
    expect(rl.take('alice')).toBe(false)
    expect(rl.take('alice')).toBe(false)
  })

  it('refills at RATE per second', () => {
    const { rl, clock } = limiter(10, 20)
    expect(takes(rl, 'alice', 20)).toBe(20)
    expect(rl.take('alice')).toBe(false)
    clock.now += 500
    expect(takes(rl, 'alice', 10)).toBe(5)
    clock.now += 100
    expect(takes(rl, 'alice', 10)).toBe(1)
    // with the default constants: one second refills RATE tokens
    const d = limiter()
    expect(takes(d.rl, 'bob', BURST)).toBe(BURST)
    d.clock.now += 1000
    expect(takes(d.rl, 'bob', BURST)).toBe(RATE)
  })

  it('accumulates fractions of a token across calls', () => {
    const { rl, clock } = limiter(10, 5)
    expect(takes(rl, 'alice', 5)).toBe(5)
    // 40 ms at 10/s is 0.4 of a token each time: refused, refused, then passes on the third (1.2)
    clock.now += 40
    expect(rl.take('alice')).toBe(false)
    clock.now += 40
    expect(rl.take('alice')).toBe(false)
    clock.now += 40
    expect(rl.take('alice')).toBe(true)
    expect(rl.take('alice')).toBe(false)
  })

  it('never holds more than BURST, however long a key is idle', () => {
    const { rl, clock } = limiter(10, 20)
    expect(takes(rl, 'alice', 1)).toBe(1)
    clock.now += 3600 * 1000
    expect(takes(rl, 'alice', 100)).toBe(20)
  })

  it('keeps keys independent', () => {
    const { rl } = limiter(10, 20)
    expect(takes(rl, 'alice', 25)).toBe(20)
    expect(rl.take('alice')).toBe(false)
    expect(takes(rl, 'bob', 25)).toBe(20)
    expect(rl.take('carol')).toBe(true)
    expect(rl.take('alice')).toBe(false)
  })

  it('with over 10,000 keys, a refused key stays refused until it refills', () => {
    const { rl, clock } = limiter(10, 20)
    expect(takes(rl, 'spammer', 20)).toBe(20)
    expect(rl.take('spammer')).toBe(false)
    // 12,000 other keys, each taking one token: the map passes the eviction threshold
    for (let i = 0; i < 12_000; i++) expect(rl.take(`k${i}`)).toBe(true)
    expect(rl.take('spammer')).toBe(false)
    // full buckets are forgotten, and a forgotten key starts over with a full bucket
    clock.now += 2000
    for (let i = 12_000; i < 12_100; i++) expect(rl.take(`k${i}`)).toBe(true)
    expect(takes(rl, 'spammer', 30)).toBe(20)
    expect(rl.take('spammer')).toBe(false)
    // the sweep did forget the refilled keys (a look inside: nothing else shows the map's size)
    const buckets = (rl as unknown as { buckets: Map<string, unknown> }).buckets
    expect(buckets.size).toBeLessThan(200)
    expect(buckets.has('spammer')).toBe(true)
  })

  it('with over 10,000 partly used keys, a new key is still limited to its burst', () => {
    const { rl } = limiter(10, 20)
    // 10,001 keys that are not full, so none can be evicted
    for (let i = 0; i <= 10_000; i++) expect(rl.take(`k${i}`)).toBe(true)
    // a new key arriving now must not get more than its burst
    expect(takes(rl, 'newcomer', 100)).toBe(20)
    expect(rl.take('newcomer')).toBe(false)
    // nor a key that had already been seen
    expect(takes(rl, 'k0', 100)).toBe(19)
  })

  it('keeps refusing across eviction sweeps while other keys come and go', () => {
    const { rl, clock } = limiter(10, 20)
    for (let i = 0; i <= 10_000; i++) rl.take(`k${i}`)
    expect(takes(rl, 'spammer', 25)).toBe(20)
    // time passes: the other keys refill and get evicted by later sweeps; the spammer keeps spending
    let passed = 0
    for (let step = 0; step < 50; step++) {
      clock.now += 100 // one token per key per step
      for (let j = 0; j < 20; j++) rl.take(`fresh${step}-${j}`)
      passed += takes(rl, 'spammer', 5)
    }
    // 50 steps of 100 ms at 10/s: exactly 50 tokens
    expect(passed).toBe(50)
  })
})
