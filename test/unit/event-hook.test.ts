import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { EventJson, PeerEventJson } from '../../src/api/types.js'
import { EventLog } from '../../src/core/event-log.js'
import { EventHook, type EventHookInit } from '../../src/core/notify/event-hook.js'

interface LogEntry {
  event: string
  level: string
  [key: string]: unknown
}

/** The node's JSON log, captured; `next(name)` waits for the n-th entry of that name. */
class LogCapture {
  readonly entries: LogEntry[] = []
  private readonly waiters: Array<() => void> = []
  readonly log: EventLog

  constructor() {
    const sink = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (line === '') continue
          this.entries.push(JSON.parse(line) as LogEntry)
          for (const wake of this.waiters.splice(0)) wake()
        }
        cb()
      },
    })
    this.log = new EventLog(true, sink, sink)
  }

  named(event: string): LogEntry[] {
    return this.entries.filter((e) => e.event === event)
  }

  async next(event: string, n = 1): Promise<LogEntry> {
    for (;;) {
      const found = this.named(event)
      if (found.length >= n) return found[n - 1]!
      await new Promise<void>((resolve) => this.waiters.push(resolve))
    }
  }
}

let dir: string
let logs: LogCapture
const hooks: EventHook[] = []

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawlink-hook-'))
  logs = new LogCapture()
})

afterEach(async () => {
  await Promise.all(hooks.splice(0).map((h) => h.stop()))
  rmSync(dir, { recursive: true, force: true })
})

function hook(command: string, init: Partial<EventHookInit> = {}): EventHook {
  const h = new EventHook({
    command,
    types: ['task', 'task_update', 'peer_online'],
    log: logs.log,
    timeout: 10_000,
    ...init,
  })
  hooks.push(h)
  return h
}

/** Runs (successful or not) are not logged, so a test waits for the count to reach `n`. */
async function runs(h: EventHook, n: number, timeout = 5_000): Promise<void> {
  await expect.poll(() => h.runs, { timeout, interval: 10 }).toBe(n)
}

function task(id: string, extra: Partial<EventJson> = {}): EventJson {
  return {
    seq: 1,
    type: 'task',
    id,
    from: { id: 'peer-bob', name: 'bob' },
    to: { id: 'peer-alice', name: 'alice' },
    task: `do ${id}`,
    priority: 'normal',
    state: 'delivered',
    timestamp: new Date(0).toISOString(),
    ...extra,
  }
}

function peerOnline(id: string): PeerEventJson {
  return {
    type: 'peer_online',
    peer: { id, name: 'carol' } as PeerEventJson['peer'],
    reason: 'joined',
    timestamp: new Date(0).toISOString(),
  }
}

/** Whether a process still runs; a killed one its new parent has not reaped yet (a zombie) does not. */
function running(pid: number): boolean {
  if (existsSync('/proc/self/stat')) {
    try {
      // the state is the field after the parenthesised command name
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2))
    } catch {
      return false
    }
  }
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('EventHook', () => {
  it('passes the event as one JSON line on stdin, with its type and id in the environment', async () => {
    const h = hook(
      `cat > "${dir}/$CLAWLINK_EVENT_ID.json"; echo "$CLAWLINK_EVENT $CLAWLINK_EVENT_ID" >> "${dir}/env"`,
    )
    const e = task('t1', { context: { note: 'naïve — ünïcode ✓', quote: `it's "quoted"` } })
    const p = peerOnline('peer-carol')
    h.notify(e)
    h.notify(p)
    await runs(h, 2)
    expect(readFileSync(join(dir, 't1.json'), 'utf8')).toBe(`${JSON.stringify(e)}\n`)
    expect(readFileSync(join(dir, 'peer-carol.json'), 'utf8')).toBe(`${JSON.stringify(p)}\n`)
    expect(readFileSync(join(dir, 'env'), 'utf8')).toBe('task t1\npeer_online peer-carol\n')
    expect(h.failures).toBe(0)
    expect(logs.entries).toEqual([])
  })

  it('runs one command at a time, in the order the events came', async () => {
    const out = join(dir, 'order')
    const h = hook(
      `cat > /dev/null; echo "start $CLAWLINK_EVENT_ID" >> "${out}"; sleep 0.03; echo "end $CLAWLINK_EVENT_ID" >> "${out}"`,
    )
    const ids = ['a', 'b', 'c', 'd', 'e']
    for (const id of ids) h.notify(task(id))
    await runs(h, ids.length)
    expect(readFileSync(out, 'utf8').trim().split('\n')).toEqual(
      ids.flatMap((id) => [`start ${id}`, `end ${id}`]),
    )
  })

  it('ignores event types it was not asked for', async () => {
    const out = join(dir, 'seen')
    const h = hook(`echo "$CLAWLINK_EVENT" >> "${out}"`, { types: ['task_update'] })
    h.notify(task('t1'))
    h.notify(peerOnline('p1'))
    h.notify(task('t2', { type: 'task_update', state: 'completed' }))
    await runs(h, 1)
    await h.stop()
    expect(readFileSync(out, 'utf8')).toBe('task_update\n')
    expect(h.runs).toBe(1)
  })

  it('logs a failing command with its exit code and the tail of its stderr', async () => {
    const h = hook('cat > /dev/null; echo "first line" >&2; echo "it broke" >&2; exit 3')
    h.notify(task('t1'))
    const failed = await logs.next('on_event_failed')
    expect(failed).toMatchObject({
      level: 'warn',
      type: 'task',
      id: 't1',
      reason: 'exit code 3',
      stderr: 'first line\nit broke',
    })
    expect(h.failures).toBe(1)
    expect(h.runs).toBe(1)
  })

  it('keeps only the tail of a long stderr', async () => {
    const h = hook(`head -c 5000 /dev/zero | tr '\\0' x >&2; echo THE-END >&2; exit 1`)
    h.notify(task('t1'))
    const failed = await logs.next('on_event_failed')
    const stderr = failed.stderr as string
    expect(stderr.length).toBeLessThanOrEqual(500)
    expect(stderr.length).toBeGreaterThan(400)
    expect(stderr.endsWith('xxxTHE-END')).toBe(true)
  })

  it('names a command the shell cannot find', async () => {
    const h = hook('clawlink-no-such-command-here')
    h.notify(task('t1'))
    const failed = await logs.next('on_event_failed')
    expect(failed.reason).toBe('exit code 127')
    expect(failed.stderr).toMatch(/not found/)
  })

  it('does not fail a command that ignores its stdin', async () => {
    const h = hook('exit 0')
    // bigger than a pipe buffer, so the write meets a closed pipe
    h.notify(task('t1', { context: { blob: 'z'.repeat(1024 * 1024) } }))
    h.notify(task('t2'))
    await runs(h, 2)
    expect(h.failures).toBe(0)
    expect(logs.entries).toEqual([])
  })

  it('carries on with the next event after a failure', async () => {
    const out = join(dir, 'ok')
    const h = hook(
      `cat > /dev/null; [ "$CLAWLINK_EVENT_ID" = bad ] && exit 1; echo "$CLAWLINK_EVENT_ID" >> "${out}"`,
    )
    h.notify(task('bad'))
    h.notify(task('good'))
    await runs(h, 2)
    expect(readFileSync(out, 'utf8')).toBe('good\n')
    expect(h.failures).toBe(1)
  })

  it('kills a command that outlives its time limit, and what it started', async () => {
    // the shell forks: killing the shell alone would leave `sleep` holding stderr open
    const h = hook(`cat > /dev/null; sleep 30 & echo $! > "${dir}/child"; wait`, { timeout: 300 })
    const started = Date.now()
    h.notify(task('slow'))
    const failed = await logs.next('on_event_failed')
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(failed).toMatchObject({ id: 'slow', reason: 'killed by SIGKILL' })
    const child = Number(readFileSync(join(dir, 'child'), 'utf8'))
    await expect.poll(() => running(child), { timeout: 2_000, interval: 10 }).toBe(false)
  })

  it('kills a plain hanging command at the time limit and runs the next', async () => {
    const out = join(dir, 'after')
    const h = hook(`cat > /dev/null; [ "$CLAWLINK_EVENT_ID" = hang ] && sleep 30; echo ran >> "${out}"`, {
      timeout: 300,
    })
    h.notify(task('hang'))
    h.notify(task('next'))
    await runs(h, 2)
    expect(logs.named('on_event_failed')).toHaveLength(1)
    expect(readFileSync(out, 'utf8')).toBe('ran\n')
  })

  it('drops events beyond its queue bound and logs the count', async () => {
    const go = join(dir, 'go')
    const out = join(dir, 'ran')
    const h = hook(
      `cat > /dev/null; while [ ! -e "${go}" ]; do sleep 0.01; done; echo "$CLAWLINK_EVENT_ID" >> "${out}"`,
      { maxQueue: 2 },
    )
    // the first starts at once; two wait; the rest do not fit
    for (const id of ['r1', 'q1', 'q2', 'x1', 'x2', 'x3']) h.notify(task(id))
    expect(h.dropped).toBe(3)
    expect(logs.named('on_event_dropped')).toEqual([expect.objectContaining({ level: 'warn', dropped: 1 })])
    writeFileSync(go, '')
    await runs(h, 3)
    expect(readFileSync(out, 'utf8')).toBe('r1\nq1\nq2\n')
  })

  it('logs drops on the first and every hundredth, not each one', async () => {
    const h = hook('true', { maxQueue: 0 })
    for (let i = 0; i < 250; i++) h.notify(task(`t${i}`))
    expect(h.dropped).toBe(250)
    expect(h.runs).toBe(0)
    expect(logs.named('on_event_dropped').map((e) => e.dropped)).toEqual([1, 100, 200])
  })

  it('stop() kills a stuck command and drops what is queued', async () => {
    const started = join(dir, 'started')
    const marker = join(dir, 'queued-ran')
    const h = hook(
      `cat > /dev/null; [ "$CLAWLINK_EVENT_ID" = stuck ] && { touch "${started}"; sleep 60; }; touch "${marker}"`,
      { timeout: 60_000 },
    )
    h.notify(task('stuck'))
    h.notify(task('queued'))
    await expect.poll(() => existsSync(started), { timeout: 2_000, interval: 10 }).toBe(true)
    const t0 = Date.now()
    await h.stop()
    // stop() gives a run a grace of two seconds before it kills it
    expect(Date.now() - t0).toBeLessThan(4_000)
    expect(h.runs).toBe(1)
    expect(logs.named('on_event_failed')).toEqual([
      expect.objectContaining({ id: 'stuck', reason: 'killed by SIGKILL' }),
    ])
    expect(existsSync(marker)).toBe(false)
    // stopped: later events are ignored
    h.notify(task('late'))
    expect(h.runs).toBe(1)
  })

  it('stop() with nothing running resolves at once', async () => {
    const h = hook('true')
    const started = Date.now()
    await h.stop()
    expect(Date.now() - started).toBeLessThan(500)
  })
})
