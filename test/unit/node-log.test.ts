// The log file of a node started with `clawlink up`: bounded by rotation in place, and how a failed
// start is explained from it.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { reasonFromLog } from '../../src/cli/detach/spawn-node.js'
import { keepLogBounded, logMax, nodeLogPath, rotateIfLarge } from '../../src/home/node-log.js'

describe('node log', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clawlink-log-'))
  afterEach(() => {
    vi.useRealTimers()
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('moves the content to node.log.1 and truncates in place once over the bound', () => {
    const log = nodeLogPath(dir)
    expect(log).toBe(join(dir, 'node.log'))
    writeFileSync(log, 'a\n'.repeat(600))
    expect(rotateIfLarge(log, 2000)).toBe(false)
    writeFileSync(log, 'b\n'.repeat(1200))
    const ino = statSync(log).ino
    expect(rotateIfLarge(log, 2000)).toBe(true)
    expect(readFileSync(`${log}.1`, 'utf8')).toBe('b\n'.repeat(1200))
    // the same file (the node's stdout and stderr point at it), now empty
    expect(statSync(log)).toMatchObject({ size: 0, ino })
  })

  it('the node checks its log on a timer, only when started by up', () => {
    vi.useFakeTimers()
    const log = join(dir, 'timed.log')
    writeFileSync(log, 'x'.repeat(5000))
    const stop = keepLogBounded({ CLAWLINK_LOG_FILE: log, CLAWLINK_LOG_MAX: '4096' })
    vi.advanceTimersByTime(2_100)
    expect(statSync(log).size).toBe(0)
    expect(statSync(`${log}.1`).size).toBe(5000)
    stop()
    writeFileSync(log, 'y'.repeat(5000))
    vi.advanceTimersByTime(10_000)
    expect(statSync(log).size).toBe(5000)
    expect(keepLogBounded({})).toBeTypeOf('function')
    expect(logMax({})).toBe(10 * 1024 * 1024)
    expect(logMax({ CLAWLINK_LOG_MAX: '12' })).toBe(10 * 1024 * 1024)
  })

  it("explains a failed start from the CLI's error line, else the warnings, else the last lines", () => {
    expect(
      reasonFromLog([
        'clawlink: --allow: "x" is not a PeerId',
        'Usage: clawlink node --name NAME',
        "Run 'clawlink node --help' for details.",
      ]),
    ).toBe('--allow: "x" is not a PeerId')
    expect(reasonFromLog(['12:00:00.000 starting', '12:00:00.100 ERROR: disk on fire', 'bye'])).toBe(
      '12:00:00.100 ERROR: disk on fire',
    )
    expect(reasonFromLog(['a', 'b', 'c', 'd'])).toBe('b; c; d')
    expect(reasonFromLog([])).toBe('it wrote nothing to its log')
  })
})
