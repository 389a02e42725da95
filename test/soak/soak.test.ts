// The short soak (issue #8): five real nodes under load for 60 s, one SIGKILLed and restarted every
// 20 s; nothing may be lost or duplicated, everything must converge. `npm run soak` is the long one.
import { describe, expect, it } from 'vitest'
import { runSoak } from '../../bench/soak/index.ts'
import { defaultOptions, parseSoakArgs, SoakUsageError } from '../../bench/soak/options.ts'
import { formatSoak } from '../../bench/soak/report.ts'

describe('soak', () => {
  it('parses its flags and refuses runs that could not mean anything', () => {
    const { options } = parseSoakArgs(['--duration', '2m', '--kill-every=20s', '--nodes', '4'])
    expect(options).toMatchObject({ durationMs: 120_000, killEveryMs: 20_000, nodes: 4, warmupMs: 30_000 })
    expect(parseSoakArgs([]).options.durationMs).toBe(defaultOptions().durationMs)
    expect(parseSoakArgs(['--kill-every', '0']).options.killEveryMs).toBe(0)
    expect(() => parseSoakArgs(['--nodes', '1'])).toThrow(SoakUsageError)
    expect(() => parseSoakArgs(['--victims', '5'])).toThrow(/victims/)
    expect(() => parseSoakArgs(['--duration', 'soon'])).toThrow(/duration/)
    expect(() => parseSoakArgs(['--broadcast-every', '50ms', '--duration', '1h'])).toThrow(/broadcasts/)
    expect(() => parseSoakArgs(['--bogus'])).toThrow(/unknown option/)
  })

  it('loses and duplicates nothing over 60 s with a node SIGKILLed every 20 s', {
    timeout: 150_000,
  }, async () => {
    const result = await runSoak({
      ...defaultOptions(),
      durationMs: 60_000,
      killEveryMs: 20_000,
      warmupMs: 15_000,
      quiesceMs: 40_000,
    })
    // the table and every failure, so a red run explains itself
    expect(result.failures, formatSoak(result)).toEqual([])
    expect(result.ok).toBe(true)
    const t = result.totals
    expect(t.kills).toBe(2)
    expect(t.tasksSent).toBeGreaterThan(100)
    expect(t.tasksCompleted).toBe(t.tasksSent)
    expect(t.tasksLost + t.duplicates).toBe(0)
    expect(t.broadcasts).toBeGreaterThan(20)
    expect(t.fileKeys).toBeGreaterThan(5)
    for (const n of result.nodes) {
      expect(n.broadcastsHeld).toBe(t.broadcasts)
      expect(n.fileKeys).toBe(t.fileKeys)
      if (n.longLived) expect(n.rssEnd).not.toBeNull()
    }
  })
})
