import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { EXIT_GRACE_MS, exitWhenStuck } from '../../src/cli/exit.js'

describe('a finished command exits even when something holds the event loop (cli/exit)', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('exits with the command code after the grace, naming what held the loop', () => {
    const exit = vi.fn()
    let said = ''
    exitWhenStuck({
      code: 0,
      out: { writableLength: 0 },
      err: { write: (t: string) => (said += t) },
      exit,
      held: () => ['TCPSocketWrap', 'Timeout'],
    })
    vi.advanceTimersByTime(EXIT_GRACE_MS - 1)
    expect(exit).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(exit).toHaveBeenCalledWith(0)
    expect(said).toContain('held by TCPSocketWrap, Timeout')
  })

  it('waits while output is still queued for a slow reader, then exits once it is written', () => {
    const exit = vi.fn()
    const out = { writableLength: 4096 }
    exitWhenStuck({ code: 3, out, err: { write: () => true }, exit, held: () => [] })
    vi.advanceTimersByTime(EXIT_GRACE_MS * 5)
    expect(exit).not.toHaveBeenCalled()
    out.writableLength = 0
    vi.advanceTimersByTime(EXIT_GRACE_MS)
    expect(exit).toHaveBeenCalledWith(3)
  })
})
