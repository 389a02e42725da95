import { Writable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { EventLog } from '../../src/core/index.js'
import { STOP_DEADLINE_EXIT_CODE, stopDeadline } from '../../src/daemon/stop-deadline.js'

function sink(): { stream: Writable; text: () => string } {
  let text = ''
  const stream = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString()
      cb()
    },
  })
  return { stream, text: () => text }
}

describe('a clean stop is bounded (daemon/stop-deadline)', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('exits non-zero once the deadline passes, saying what the stop still waited for', () => {
    const out = sink()
    const log = new EventLog(true, out.stream)
    const exit = vi.fn()
    let stage = 'notifiers and local APIs'
    stopDeadline({ log, stage: () => stage, exit, deadlineMs: 20_000 })
    stage = 'libp2p'
    vi.advanceTimersByTime(19_999)
    expect(exit).not.toHaveBeenCalled()
    expect(out.text()).toBe('')
    vi.advanceTimersByTime(1)
    expect(exit).toHaveBeenCalledExactlyOnceWith(STOP_DEADLINE_EXIT_CODE)
    expect(STOP_DEADLINE_EXIT_CODE).not.toBe(0)
    const line = JSON.parse(out.text()) as Record<string, unknown>
    expect(line).toMatchObject({ event: 'stop_forced', reason: 'timeout', stage: 'libp2p', afterMs: 20_000 })
  })

  it('does nothing once the stop has finished in time', () => {
    const out = sink()
    const exit = vi.fn()
    const done = stopDeadline({ log: new EventLog(true, out.stream), stage: () => 'libp2p', exit })
    vi.advanceTimersByTime(5_000)
    done()
    vi.advanceTimersByTime(60_000)
    expect(exit).not.toHaveBeenCalled()
    expect(out.text()).toBe('')
  })
})
