// Ticker: a node's periodic chores share wake-ups. Chores of one period, registered at different
// moments, run in the same wake-up; a chore whose period is a multiple of another's runs with it.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Ticker } from '../../src/protocols/ticker.js'

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000_000_000 })
})
afterEach(() => {
  vi.useRealTimers()
})

/** Records when (Date.now) each chore ran. */
function recorder() {
  const runs: Record<string, number[]> = {}
  const chore = (name: string) => () => {
    runs[name] ??= []
    runs[name].push(Date.now())
  }
  return { runs, chore }
}

describe('Ticker', () => {
  it('runs chores of one period, registered at different moments, in the same wake-ups', async () => {
    const ticker = new Ticker({ phase: 0.3 })
    const { runs, chore } = recorder()
    ticker.every(5_000, chore('a'))
    await vi.advanceTimersByTimeAsync(1_700)
    ticker.every(5_000, chore('b'))
    await vi.advanceTimersByTimeAsync(3_100)
    ticker.every(5_000, chore('c'))
    await vi.advanceTimersByTimeAsync(30_000)
    expect(runs.a!.length).toBeGreaterThanOrEqual(6)
    // b and c run at a's times from their first run on: one wake-up for all three
    expect(runs.b!.every((t) => runs.a!.includes(t))).toBe(true)
    expect(runs.c!.every((t) => runs.a!.includes(t))).toBe(true)
    // on a 5 s grid, shifted by the phase (0.3 of a minute: 18 s, so 3 s past each 5 s mark)
    for (const t of runs.a!) expect(t % 5_000).toBe(3_000)
    // and each chore once a period
    for (let i = 1; i < runs.a!.length; i++) expect(runs.a![i]! - runs.a![i - 1]!).toBe(5_000)
  })

  it('runs a chore whose period is a multiple of another one in the same wake-up', async () => {
    const ticker = new Ticker({ phase: 0.55 })
    const { runs, chore } = recorder()
    ticker.every(60_000, chore('slow'))
    ticker.every(5_000, chore('fast'))
    const timeouts = vi.spyOn(globalThis, 'setTimeout')
    await vi.advanceTimersByTimeAsync(180_000)
    expect(runs.slow).toHaveLength(3)
    expect(runs.fast).toHaveLength(36)
    expect(runs.slow!.every((t) => runs.fast!.includes(t))).toBe(true)
    // one timer armed per wake-up: 36, not 39
    expect(timeouts).toHaveBeenCalledTimes(36)
  })

  it('stops a chore when asked, and every chore on clear', async () => {
    const ticker = new Ticker({ phase: 0 })
    const { runs, chore } = recorder()
    const stopA = ticker.every(1_000, chore('a'))
    ticker.every(1_000, chore('b'))
    await vi.advanceTimersByTimeAsync(3_000)
    stopA()
    await vi.advanceTimersByTimeAsync(3_000)
    expect([runs.a!.length, runs.b!.length]).toEqual([3, 6])
    ticker.clear()
    await vi.advanceTimersByTimeAsync(3_000)
    expect(runs.b).toHaveLength(6)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('keeps running the other chores when one throws, and the one that threw next time', async () => {
    const ticker = new Ticker({ phase: 0 })
    const { runs, chore } = recorder()
    let calls = 0
    ticker.every(1_000, () => {
      calls++
      throw new Error('a chore failed')
    })
    ticker.every(1_000, chore('b'))
    await vi.advanceTimersByTimeAsync(3_000)
    expect(calls).toBe(3)
    expect(runs.b).toHaveLength(3)
  })

  it('skips the runs a blocked event loop missed instead of running them back to back', async () => {
    const ticker = new Ticker({ phase: 0 })
    const { runs, chore } = recorder()
    ticker.every(1_000, chore('a'))
    // the clock jumps 10 s without the timers firing (the loop was blocked)
    vi.setSystemTime(Date.now() + 10_000)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(runs.a).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(runs.a).toHaveLength(2)
  })

  it('refuses a period below 1 ms', () => {
    expect(() => new Ticker().every(0, () => {})).toThrow(RangeError)
  })
})
