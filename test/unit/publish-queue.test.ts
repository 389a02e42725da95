// The sender's pacing queue: in order, never faster than a receiver's per-author bucket, bounded.
import { describe, expect, it } from 'vitest'
import { PublishQueue, type QueuedBroadcast } from '../../src/protocols/knowledge/publish-queue.js'
import { RateLimiter } from '../../src/protocols/rate-limiter.js'

/** A queue over an in-memory "store", with a clock that only moves when the queue sleeps. */
function setup(
  n: number,
  opts: { rate?: number; burst?: number; maxPending?: number; fail?: number; unheard?: boolean } = {},
) {
  let now = 1_000_000
  const stored: QueuedBroadcast[] = Array.from({ length: n }, (_, i) => ({
    seq: i + 1,
    raw: Uint8Array.of(i % 256, Math.floor(i / 256)),
  }))
  let published = 0
  const sends: Array<{ at: number; seq: number }> = []
  const q = new PublishQueue({
    rate: opts.rate ?? 16,
    burst: opts.burst ?? 50,
    maxPending: opts.maxPending ?? 1000,
    pending: n,
    next: () => stored.find((s) => s.seq > published),
    send: async (raw) => {
      const seq = raw[0]! + raw[1]! * 256 + 1
      sends.push({ at: now, seq })
      if (seq === opts.fail) throw new Error('no peers subscribed')
    },
    sent: (seq) => {
      published = seq
    },
    unheard: () => opts.unheard === true,
    now: () => now,
    sleep: async (ms) => {
      now += ms
    },
  })
  return {
    q,
    sends,
    stored,
    clock: () => now,
    published: () => published,
  }
}

describe('PublishQueue', () => {
  it('sends 200 in order, at most the burst at once, and a receiver at the mesh rate drops none', async () => {
    const s = setup(200)
    s.q.start()
    await s.q.idle()
    expect(s.sends.map((x) => x.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
    expect(s.published()).toBe(200)
    expect(s.q.pending()).toBe(0)
    const t0 = s.sends[0]!.at
    expect(s.sends.filter((x) => x.at === t0)).toHaveLength(50)
    // the rest at 16/s: 150 more take about 9.4 s
    expect(s.sends.at(-1)!.at - t0).toBeGreaterThanOrEqual(9_300)
    expect(s.sends.at(-1)!.at - t0).toBeLessThan(9_500)
    // a receiver with the default --broadcast-rate (20/s, bursts of 100) takes every one
    let now = 0
    const receiver = new RateLimiter(20, 100, () => now)
    for (const x of s.sends) {
      now = x.at
      expect(receiver.take('author')).toBe(true)
    }
  })

  it('keeps going past a failed send (history sync carries that one) and records it as sent', async () => {
    const s = setup(5, { fail: 2 })
    s.q.start()
    await s.q.idle()
    expect(s.sends.map((x) => x.seq)).toEqual([1, 2, 3, 4, 5])
    expect(s.published()).toBe(5)
  })

  it('with nobody listening, marks all as sent at once without sending (history sync carries them)', async () => {
    const s = setup(200, { unheard: true })
    s.q.start()
    await s.q.idle()
    expect(s.sends).toHaveLength(0)
    expect(s.published()).toBe(200)
    expect(s.q.pending()).toBe(0)
    expect(s.clock()).toBe(1_000_000)
  })

  it('sends nothing before start, and what is stored when it starts (a restart) goes out', async () => {
    const s = setup(3)
    s.q.kick()
    await s.q.idle()
    expect(s.sends).toHaveLength(0)
    s.q.start()
    await s.q.idle()
    expect(s.sends.map((x) => x.seq)).toEqual([1, 2, 3])
  })

  it('stops between sends and resumes from the first unsent one', async () => {
    const s = setup(100, { burst: 10 })
    s.q.start()
    await Promise.resolve()
    await s.q.stop()
    const first = s.sends.length
    expect(first).toBeGreaterThan(0)
    expect(first).toBeLessThan(100)
    s.q.start()
    await s.q.idle()
    expect(s.sends.map((x) => x.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
  })

  it('refuses past its bound with the seconds until there is room', () => {
    const s = setup(0, { rate: 16, maxPending: 40 })
    for (let i = 0; i < 39; i++) {
      expect(s.q.refusal()).toBeUndefined()
      s.q.reserve()
    }
    expect(s.q.refusal()).toBeUndefined()
    s.q.reserve()
    expect(s.q.refusal()).toBe(1)
    for (let i = 0; i < 40; i++) s.q.reserve()
    // 81 waiting, room for 40: 41 over at 16/s
    expect(s.q.refusal()).toBe(3)
    s.q.release()
    expect(s.q.pending()).toBe(79)
  })
})
