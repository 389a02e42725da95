// The node's log: with `coalesce` (as `clawlink node` runs it), the lines of one run of code leave in
// one write once it ends; without it, each line is written as it is emitted.
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { EventLog } from '../../src/core/event-log.js'

class Sink extends Writable {
  readonly writes: string[] = []
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.writes.push(chunk.toString())
    cb()
  }
}

describe('EventLog', () => {
  it('coalescing: the lines of one run of code go out in one write, in order, after it ends', async () => {
    const out = new Sink()
    const log = new EventLog(true, out, out, true)
    for (let i = 0; i < 20; i++) log.emit('task_delivered', { task: `t${i}` }, `task t${i} delivered`)
    expect(out.writes).toEqual([])
    await Promise.resolve()
    expect(out.writes).toHaveLength(1)
    const lines = out.writes[0]!.trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { task: string })
    expect(lines.map((l) => l.task)).toEqual(Array.from({ length: 20 }, (_, i) => `t${i}`))
    // a later run of code gets a write of its own; flush() writes what is pending at once
    log.emit('a', {}, 'a')
    log.flush()
    expect(out.writes).toHaveLength(2)
    await Promise.resolve()
    expect(out.writes).toHaveLength(2)
  })

  it('without coalescing (tests reading a sink), each line is written at once', () => {
    const out = new Sink()
    const err = new Sink()
    const log = new EventLog(false, out, err)
    log.emit('x', {}, 'one')
    log.emit('y', {}, 'two', 'warn')
    expect(err.writes).toHaveLength(2)
    expect(err.writes[1]).toMatch(/WARN: two\n$/)
    expect(out.writes).toEqual([])
  })
})
