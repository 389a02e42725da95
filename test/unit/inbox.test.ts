import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { EventJson, EventType, Priority } from '../../src/api/types.js'
import { Inbox, type NewEvent } from '../../src/core/inbox.js'
import { Store } from '../../src/store/database.js'
import { GroupCommit } from '../../src/store/group-commit.js'

let dir: string
let path: string
let stores: Store[]
let inbox: Inbox
const timers: Array<ReturnType<typeof setTimeout>> = []

function openInbox(): { store: Store; inbox: Inbox } {
  const store = new Store(path)
  stores.push(store)
  return { store, inbox: new Inbox(store.db) }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawlink-inbox-'))
  path = join(dir, 'store.db')
  stores = []
  ;({ inbox } = openInbox())
})

afterEach(() => {
  for (const t of timers.splice(0)) clearTimeout(t)
  for (const s of stores) s.close()
  rmSync(dir, { recursive: true, force: true })
})

function event(
  id: string,
  priority: Priority = 'normal',
  type: EventType = 'task',
  at = Date.now(),
): NewEvent {
  return {
    type,
    id,
    from: { id: 'peer-bob', name: 'bob' },
    to: { id: 'peer-me', name: 'me' },
    task: `task ${id}`,
    context: { n: 1 },
    priority,
    state: type === 'task' ? 'delivered' : 'completed',
    result: null,
    reason: null,
    timestamp: new Date(at).toISOString(),
  }
}

function later(ms: number, fn: () => void): void {
  timers.push(setTimeout(fn, ms))
}

const ids = (events: EventJson[]) => events.map((e) => e.id)

/** Pending poll waiters (to check that none leak). */
const waiters = () => inbox.waitingPolls

describe('take', () => {
  it('hands out urgent before high before normal before low, oldest first within a priority', () => {
    inbox.append(event('low-1', 'low'))
    inbox.append(event('normal-1', 'normal'))
    inbox.append(event('urgent-1', 'urgent'))
    inbox.append(event('high-1', 'high'))
    inbox.append(event('normal-2', 'normal'))
    inbox.append(event('urgent-2', 'urgent'))
    inbox.append(event('low-2', 'low'))
    expect(ids(inbox.take(100, false))).toEqual([
      'urgent-1',
      'urgent-2',
      'high-1',
      'normal-1',
      'normal-2',
      'low-1',
      'low-2',
    ])
  })

  it('returns the event as appended, with an increasing seq', () => {
    const e = event('a', 'high', 'task_update')
    inbox.append(e)
    inbox.append(event('b'))
    const [a, b] = inbox.take(10, false)
    expect(a).toEqual({ seq: a!.seq, ...e })
    expect(typeof a!.seq).toBe('number')
    expect(b!.seq).toBeGreaterThan(a!.seq)
  })

  it('peek does not mark events seen; take does', () => {
    inbox.append(event('a'))
    inbox.append(event('b'))
    expect(ids(inbox.take(10, true))).toEqual(['a', 'b'])
    expect(ids(inbox.take(10, true))).toEqual(['a', 'b'])
    expect(inbox.unseenCount()).toBe(2)
    expect(ids(inbox.take(10, false))).toEqual(['a', 'b'])
    expect(inbox.unseenCount()).toBe(0)
    expect(inbox.take(10, false)).toEqual([])
    expect(inbox.take(10, true)).toEqual([])
  })

  it('honours the limit and marks only what it returned', () => {
    for (const id of ['a', 'b', 'c']) inbox.append(event(id))
    expect(ids(inbox.take(2, false))).toEqual(['a', 'b'])
    expect(inbox.unseenCount()).toBe(1)
    expect(ids(inbox.take(2, false))).toEqual(['c'])
  })

  it('filters by type and leaves the other events unseen', () => {
    inbox.append(event('t1', 'normal', 'task'))
    inbox.append(event('u1', 'normal', 'task_update'))
    inbox.append(event('t2', 'urgent', 'task'))
    inbox.append(event('u2', 'low', 'task_update'))
    expect(ids(inbox.take(10, false, ['task_update']))).toEqual(['u1', 'u2'])
    expect(ids(inbox.take(10, true, []))).toEqual(['t2', 't1'])
    expect(ids(inbox.take(10, false, ['task', 'task_update']))).toEqual(['t2', 't1'])
  })

  it('keeps unseen events across a restart', () => {
    inbox.append(event('a'))
    inbox.append(event('b'))
    inbox.take(1, false)
    stores[0]!.close()
    const again = openInbox().inbox
    expect(again.unseenCount()).toBe(1)
    expect(ids(again.take(10, false))).toEqual(['b'])
  })
})

describe('poll', () => {
  it('returns at once what is already there', async () => {
    inbox.append(event('a'))
    const start = Date.now()
    expect(ids(await inbox.poll({ limit: 10, peek: false, waitMs: 5000 }))).toEqual(['a'])
    expect(Date.now() - start).toBeLessThan(1000)
    expect(inbox.unseenCount()).toBe(0)
  })

  it('returns [] at once with waitMs 0', async () => {
    const start = Date.now()
    expect(await inbox.poll({ limit: 10, peek: false, waitMs: 0 })).toEqual([])
    expect(Date.now() - start).toBeLessThan(500)
    expect(waiters()).toBe(0)
  })

  it('wakes as soon as an event is appended (event-driven, not on its timeout)', async () => {
    const start = Date.now()
    later(50, () => inbox.append(event('a', 'high')))
    const got = await inbox.poll({ limit: 10, peek: false, waitMs: 5000 })
    const elapsed = Date.now() - start
    expect(ids(got)).toEqual(['a'])
    expect(elapsed).toBeGreaterThanOrEqual(40)
    expect(elapsed).toBeLessThan(2000)
    expect(inbox.unseenCount()).toBe(0)
    expect(waiters()).toBe(0)
  })

  it('returns [] when the wait runs out', async () => {
    const start = Date.now()
    expect(await inbox.poll({ limit: 10, peek: false, waitMs: 150 })).toEqual([])
    expect(Date.now() - start).toBeGreaterThanOrEqual(140)
    expect(waiters()).toBe(0)
  })

  it('ends the wait when the signal aborts', async () => {
    const controller = new AbortController()
    const start = Date.now()
    later(50, () => controller.abort())
    expect(await inbox.poll({ limit: 10, peek: false, waitMs: 5000, signal: controller.signal })).toEqual([])
    expect(Date.now() - start).toBeLessThan(2000)
    expect(waiters()).toBe(0)
    // an event after the abort stays for the next poll
    inbox.append(event('a'))
    expect(inbox.unseenCount()).toBe(1)
  })

  it('does not wait at all with an already aborted signal', async () => {
    const start = Date.now()
    const got = await inbox.poll({ limit: 10, peek: false, waitMs: 5000, signal: AbortSignal.abort() })
    expect(got).toEqual([])
    expect(Date.now() - start).toBeLessThan(1000)
  })

  it('gives one event to one of two concurrent pollers; the other waits out its time', async () => {
    const start = Date.now()
    const settled = (p: Promise<EventJson[]>) => p.then((events) => ({ events, at: Date.now() - start }))
    const a = settled(inbox.poll({ limit: 10, peek: false, waitMs: 400 }))
    const b = settled(inbox.poll({ limit: 10, peek: false, waitMs: 400 }))
    later(50, () => inbox.append(event('only')))
    const results = await Promise.all([a, b])
    const winners = results.filter((r) => r.events.length > 0)
    const losers = results.filter((r) => r.events.length === 0)
    expect(winners).toHaveLength(1)
    expect(ids(winners[0]!.events)).toEqual(['only'])
    expect(winners[0]!.at).toBeLessThan(390)
    expect(losers).toHaveLength(1)
    expect(losers[0]!.at).toBeGreaterThanOrEqual(390)
    expect(waiters()).toBe(0)
  })

  it('a poller that lost the race gets the next event', async () => {
    const start = Date.now()
    const settled = (p: Promise<EventJson[]>) => p.then((events) => ({ events, at: Date.now() - start }))
    const a = settled(inbox.poll({ limit: 10, peek: false, waitMs: 5000 }))
    const b = settled(inbox.poll({ limit: 10, peek: false, waitMs: 5000 }))
    later(50, () => inbox.append(event('first')))
    later(300, () => inbox.append(event('second')))
    const results = await Promise.all([a, b])
    expect(results.flatMap((r) => ids(r.events)).sort()).toEqual(['first', 'second'])
    const second = results.find((r) => ids(r.events).includes('second'))!
    expect(ids(second.events)).toEqual(['second'])
    expect(second.at).toBeGreaterThanOrEqual(290)
    expect(Math.max(...results.map((r) => r.at))).toBeLessThan(2000)
  })

  it('with peek, concurrent pollers all see the event and it stays unseen', async () => {
    const a = inbox.poll({ limit: 10, peek: true, waitMs: 5000 })
    const b = inbox.poll({ limit: 10, peek: true, waitMs: 5000 })
    later(50, () => inbox.append(event('x')))
    const [ra, rb] = await Promise.all([a, b])
    expect(ids(ra)).toEqual(['x'])
    expect(ids(rb)).toEqual(['x'])
    expect(inbox.unseenCount()).toBe(1)
  })

  it('with a type filter, ignores other events and wakes for a matching one', async () => {
    const start = Date.now()
    later(50, () => inbox.append(event('task-1', 'urgent', 'task')))
    later(200, () => inbox.append(event('update-1', 'low', 'task_update')))
    const got = await inbox.poll({ limit: 10, peek: false, waitMs: 5000, types: ['task_update'] })
    const elapsed = Date.now() - start
    expect(ids(got)).toEqual(['update-1'])
    expect(elapsed).toBeGreaterThanOrEqual(190)
    expect(elapsed).toBeLessThan(2000)
    expect(ids(inbox.take(10, false))).toEqual(['task-1'])
  })
})

describe('prune', () => {
  it('drops seen events older than a week and keeps unseen ones', () => {
    const now = Date.now()
    const day = 24 * 3600 * 1000
    inbox.append(event('old-seen', 'normal', 'task', now - 8 * day))
    inbox.append(event('recent-seen', 'normal', 'task', now - 6 * day))
    inbox.take(10, false)
    inbox.append(event('old-unseen', 'normal', 'task', now - 30 * day))
    inbox.prune(now)
    const left = stores[0]!.db.prepare('SELECT payload FROM events ORDER BY seq').all() as Array<{
      payload: string
    }>
    expect(left.map((r) => (JSON.parse(r.payload) as NewEvent).id)).toEqual(['recent-seen', 'old-unseen'])
    expect(ids(inbox.take(10, false))).toEqual(['old-unseen'])
  })
})

describe('held events: seen only once the poll answer is out', () => {
  it('confirm marks held events seen; release hands them out again', () => {
    inbox.append(event('a'))
    inbox.append(event('b'))
    const held = inbox.take(10, false, undefined, true)
    expect(ids(held)).toEqual(['a', 'b'])
    // held events are not handed to another poller meanwhile
    expect(inbox.take(10, false)).toEqual([])
    inbox.release([held[1]!.seq])
    inbox.confirm([held[0]!.seq])
    expect(ids(inbox.take(10, false))).toEqual(['b'])
    expect(inbox.take(10, false)).toEqual([])
    // confirming or releasing what is no longer held changes nothing
    inbox.release([held[0]!.seq])
    expect(inbox.take(10, false)).toEqual([])
  })

  it('a restart releases what a poll held when the node stopped before answering', () => {
    inbox.append(event('a'))
    inbox.append(event('b'))
    const held = inbox.take(10, false, undefined, true)
    inbox.confirm([held[0]!.seq])
    const again = openInbox().inbox
    expect(ids(again.take(10, false))).toEqual(['b'])
  })

  it('a poller that has gone away takes nothing', async () => {
    const controller = new AbortController()
    controller.abort()
    inbox.append(event('a'))
    expect(
      await inbox.poll({ limit: 10, peek: false, waitMs: 1000, signal: controller.signal, hold: true }),
    ).toEqual([])
    expect(ids(inbox.take(10, false))).toEqual(['a'])
  })

  it('release wakes a waiting poller', async () => {
    inbox.append(event('a'))
    const held = inbox.take(10, false, undefined, true)
    const waiting = inbox.poll({ limit: 10, peek: false, waitMs: 5000 })
    const started = Date.now()
    setTimeout(() => inbox.release(held.map((e) => e.seq)), 50)
    expect(ids(await waiting)).toEqual(['a'])
    expect(Date.now() - started).toBeLessThan(4000)
  })
})

describe('leased events: seen once the client confirms', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  /** Two events held by a poll whose client confirms them itself, within `ms`. */
  function leased(ms: number): EventJson[] {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    inbox.append(event('a'))
    inbox.append(event('b'))
    const held = inbox.take(10, false, undefined, true)
    inbox.lease(
      held.map((e) => e.seq),
      ms,
    )
    return held
  }

  it('what the client does not confirm within its lease goes out again; what it confirms does not', () => {
    const held = leased(60_000)
    inbox.confirm([held[0]!.seq])
    vi.advanceTimersByTime(59_999)
    // still held for the client: nobody else gets them
    expect(inbox.take(10, false)).toEqual([])
    vi.advanceTimersByTime(1)
    expect(ids(inbox.take(10, false))).toEqual(['b'])
    vi.advanceTimersByTime(120_000)
    expect(inbox.take(10, false)).toEqual([])
  })

  it('a release goes out again at once; close ends the leases, and a restart releases what is held', () => {
    const held = leased(1_000)
    inbox.release([held[0]!.seq])
    expect(ids(inbox.take(10, false, undefined, true))).toEqual(['a'])
    inbox.close()
    vi.advanceTimersByTime(5_000)
    expect(inbox.take(10, false)).toEqual([])
    expect(ids(openInbox().inbox.take(10, false))).toEqual(['a', 'b'])
  })
})

describe('poll with a group commit', () => {
  it('hands out an event appended in the same commit as its hand-out, without waiting out the poll', async () => {
    const store = new Store(join(dir, 'grouped.db'))
    stores.push(store)
    const commits = new GroupCommit(store.db)
    const grouped = new Inbox(store.db, commits)
    // the poll's hand-out is queued first, the append second: one commit holds both, and the
    // hand-out ran before the event existed
    const polling = grouped.poll({ limit: 10, peek: false, waitMs: 60_000, hold: true })
    const appended = commits.run(() => grouped.append(event('late')))
    await appended
    const got = await polling
    expect(got.map((e) => e.id)).toEqual(['late'])
    expect(commits.stats.commits).toBeGreaterThanOrEqual(1)
  })

  it('two pollers never get the same event', async () => {
    const store = new Store(join(dir, 'grouped2.db'))
    stores.push(store)
    const commits = new GroupCommit(store.db)
    const grouped = new Inbox(store.db, commits)
    await commits.run(() => {
      for (let i = 0; i < 5; i++) grouped.append(event(`e${i}`))
    })
    const [a, b] = await Promise.all([
      grouped.poll({ limit: 3, peek: false, waitMs: 0 }),
      grouped.poll({ limit: 3, peek: false, waitMs: 0 }),
    ])
    const ids = [...a!, ...b!].map((e) => e.id)
    expect(ids.sort()).toEqual(['e0', 'e1', 'e2', 'e3', 'e4'])
  })

  /** Waits until a poll is parked (its first, empty hand-out done). */
  async function parked(box: Inbox, n = 1): Promise<void> {
    while (box.waitingPolls < n) await new Promise((r) => setImmediate(r))
  }

  it('a waiting poll takes the event in the commit that appends it: no second commit for the hand-out', async () => {
    const store = new Store(join(dir, 'claim.db'))
    stores.push(store)
    const commits = new GroupCommit(store.db)
    const grouped = new Inbox(store.db, commits)
    const polling = grouped.poll({ limit: 10, peek: false, waitMs: 60_000, hold: true })
    await parked(grouped)
    const before = commits.stats.commits
    await commits.run(() => grouped.append(event('direct')))
    expect(ids(await polling)).toEqual(['direct'])
    expect(commits.stats.commits - before).toBe(1)
    // held by the poll (seen once its answer is out), not left for another poller
    expect(grouped.take(10, true)).toEqual([])
    expect(grouped.waitingPolls).toBe(0)
  })

  it('an append undone with its piece of work is not handed out; the poll keeps waiting', async () => {
    const store = new Store(join(dir, 'claim2.db'))
    stores.push(store)
    const commits = new GroupCommit(store.db)
    const grouped = new Inbox(store.db, commits)
    const polling = grouped.poll({ limit: 10, peek: false, waitMs: 60_000, hold: true })
    await parked(grouped)
    const undone = commits.run(() => {
      grouped.append(event('undone'))
      throw new Error('no')
    })
    const kept = commits.run(() => grouped.append(event('kept')))
    await expect(undone).rejects.toThrow('no')
    await kept
    expect(ids(await polling)).toEqual(['kept'])
  })

  it('a claim never spans two commits: what a later commit appends waits for the next poll', async () => {
    const store = new Store(join(dir, 'claim3.db'))
    stores.push(store)
    const pending: Array<(err: Error | null) => void> = []
    const commits = new GroupCommit(store.db, {
      wal: join(dir, 'claim3.db-wal'),
      sync: (_fd, done) => void pending.push(done),
    })
    const grouped = new Inbox(store.db, commits)
    const polling = grouped.poll({ limit: 10, peek: false, waitMs: 60_000, hold: true })
    while (grouped.waitingPolls === 0) {
      for (const done of pending.splice(0)) done(null)
      await new Promise((r) => setImmediate(r))
    }
    const base = commits.stats.commits
    const first = commits.run(() => grouped.append(event('first')))
    while (pending.length === 0) await new Promise((r) => setImmediate(r))
    // committed, its sync still running: the next commit's event is not added to the same answer
    const second = commits.run(() => grouped.append(event('second')))
    while (commits.stats.commits < base + 2) await new Promise((r) => setImmediate(r))
    pending.shift()!(null)
    await first
    expect(ids(await polling)).toEqual(['first'])
    pending.shift()!(null)
    await second
    const next = grouped.poll({ limit: 10, peek: false, waitMs: 0, hold: true })
    while (pending.length === 0) await new Promise((r) => setImmediate(r))
    pending.shift()!(null)
    expect(ids(await next)).toEqual(['second'])
  })

  it('only a waiting poll whose types match takes the event', async () => {
    const store = new Store(join(dir, 'claim4.db'))
    stores.push(store)
    const commits = new GroupCommit(store.db)
    const grouped = new Inbox(store.db, commits)
    const updates = grouped.poll({ limit: 10, peek: false, waitMs: 60_000, types: ['task_update'] })
    await parked(grouped)
    const any = grouped.poll({ limit: 10, peek: false, waitMs: 60_000 })
    await parked(grouped, 2)
    await commits.run(() => grouped.append(event('t1')))
    expect(ids(await any)).toEqual(['t1'])
    await commits.run(() => grouped.append(event('u1', 'normal', 'task_update')))
    expect(ids(await updates)).toEqual(['u1'])
  })

  it('a poller that left while its events were being committed gives them back', async () => {
    const store = new Store(join(dir, 'claim5.db'))
    stores.push(store)
    const commits = new GroupCommit(store.db)
    const grouped = new Inbox(store.db, commits)
    const ac = new AbortController()
    const polling = grouped.poll({ limit: 10, peek: false, waitMs: 60_000, hold: true, signal: ac.signal })
    await parked(grouped)
    const appended = commits.run(() => {
      grouped.append(event('back'))
      // the caller leaves before the commit holding its event is done
      ac.abort()
    })
    await appended
    expect(await polling).toEqual([])
    expect(ids(await grouped.poll({ limit: 10, peek: false, waitMs: 0 }))).toEqual(['back'])
  })

  it('a poll with nothing to hand out commits nothing before it waits', async () => {
    const store = new Store(join(dir, 'empty.db'))
    stores.push(store)
    const commits = new GroupCommit(store.db)
    const grouped = new Inbox(store.db, commits)
    expect(await grouped.poll({ limit: 10, peek: false, waitMs: 0, hold: true })).toEqual([])
    const polling = grouped.poll({ limit: 10, peek: false, waitMs: 60_000, hold: true })
    await parked(grouped)
    expect(commits.stats.commits).toBe(0)
    await commits.run(() => grouped.append(event('then')))
    expect(ids(await polling)).toEqual(['then'])
    expect(commits.stats.commits).toBe(1)
  })
})
