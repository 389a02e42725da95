import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { keepAlive } from '../../src/mcp/keep-alive.js'

describe('mcp keepAlive', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('reports rising progress every 10 s while a wait runs, and stops when told', async () => {
    const sent: Array<{ progress: number; total: number; progressToken: string | number }> = []
    const stop = keepAlive('tok', 60, async (p) => {
      sent.push(p)
    })
    await vi.advanceTimersByTimeAsync(35_000)
    expect(sent.map((p) => p.progress)).toEqual([10, 20, 30])
    expect(sent.every((p) => p.total === 60 && p.progressToken === 'tok')).toBe(true)
    stop()
    await vi.advanceTimersByTimeAsync(30_000)
    expect(sent).toHaveLength(3)
  })

  it('sends nothing when the client gave no progress token, and survives a failed send', async () => {
    const send = vi.fn(async () => {
      throw new Error('closed')
    })
    keepAlive(undefined, 60, send)()
    const stop = keepAlive(7, 30, send)
    await vi.advanceTimersByTimeAsync(50_000)
    stop()
    // capped at the wait: progress never claims more than the total
    expect(send.mock.calls.map((c) => (c as unknown as [{ progress: number }])[0].progress)).toEqual([
      10, 20, 30, 30, 30,
    ])
  })
})
