// The simulation's virtual clock (bench/simulate/virtual-clock.ts): timers fire at their virtual
// instant in due order, CPU spent in between costs no virtual time, Date / performance.now /
// AbortSignal.timeout follow the clock, and it does not step while real I/O is in flight.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { realNow, VirtualClock } from '../../bench/simulate/virtual-clock.js'

const CLOCK = fileURLToPath(new URL('../../bench/simulate/virtual-clock.ts', import.meta.url))

const spin = (ms: number) => {
  const end = realNow() + ms
  while (realNow() < end) {}
}

describe('virtual clock', () => {
  let clock: VirtualClock | undefined
  afterEach(() => {
    clock?.uninstall()
    clock = undefined
  })
  const start = (drive = true) => {
    clock = new VirtualClock().install()
    if (drive) void clock.drive()
    return clock
  }

  it('fires timers at their virtual instants in due order; a busy loop does not move the clock', async () => {
    const c = start()
    const t0 = performance.now()
    const d0 = Date.now()
    const seen: Array<[string, number]> = []
    const at = (name: string) => seen.push([name, performance.now() - t0])
    const done = new Promise<void>((resolve) => {
      setTimeout(() => {
        at('a')
        resolve()
      }, 30)
    })
    setTimeout(() => {
      at('b')
      spin(60) // 60 real ms of CPU
    }, 10)
    const iv = setInterval(() => at('c'), 12)
    const gone = setTimeout(() => at('never'), 20)
    clearTimeout(Number(gone)) // by id, as Node allows
    await done
    clearInterval(iv)
    expect(seen).toEqual([
      ['b', 10],
      ['c', 12],
      ['c', 24],
      ['a', 30],
    ])
    expect(Date.now() - d0).toBe(30)
    expect(new Date().toISOString()).toBe(new Date(Date.now()).toISOString())
    expect(c.stats.fired).toBe(4)
  })

  it('AbortSignal.timeout aborts with a TimeoutError after virtual, not real, time', async () => {
    start()
    const t0 = performance.now()
    const signal = AbortSignal.timeout(5_000)
    const r0 = realNow()
    await new Promise((resolve) => signal.addEventListener('abort', resolve))
    expect(performance.now() - t0).toBe(5_000)
    expect(realNow() - r0).toBeLessThan(2_000)
    expect((signal.reason as Error).name).toBe('TimeoutError')
  })

  it('does not step while a file-system request is in flight', () => {
    // in a process of its own: the test runner's own immediates would hide a driver that does not wait
    const dir = mkdtempSync(join(tmpdir(), 'vclock-'))
    try {
      const file = join(dir, 'big')
      writeFileSync(file, Buffer.alloc(32 * 1024 * 1024, 1))
      const script = `
        import { readFile } from 'node:fs/promises'
        import { VirtualClock } from ${JSON.stringify(CLOCK)}
        const clock = new VirtualClock().install()
        void clock.drive()
        const t0 = performance.now()
        let fired = false
        setTimeout(() => { fired = true }, 1)
        const data = await readFile(${JSON.stringify(file)})
        console.log(JSON.stringify({ fired, elapsed: performance.now() - t0, length: data.length }))
        process.exit(0)`
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
      // the read took real milliseconds on the thread pool; in virtual time it took none
      expect(JSON.parse(out)).toEqual({ fired: false, elapsed: 0, length: 32 * 1024 * 1024 })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('refresh re-arms; uninstall hands pending timers to real time and a late clear still works', async () => {
    const c = start(false) // stepped by hand with advanceTo
    const t0 = performance.now()
    let at = 0
    const t = setTimeout(() => {
      at = performance.now() - t0
    }, 10)
    await c.advanceTo(t0 + 5)
    t.refresh()
    await c.advanceTo(t0 + 100)
    expect(at).toBe(15)
    const moved = new Promise<string>((resolve) => setTimeout(() => resolve('moved'), 20))
    const cleared = setTimeout(() => {
      throw new Error('a cleared timer fired')
    }, 10)
    c.uninstall()
    clearTimeout(cleared)
    expect(await moved).toBe('moved')
    await new Promise((r) => setTimeout(r, 30))
  })
})
