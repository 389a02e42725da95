import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadSqlite } from '../../src/home/sqlite.js'
import {
  broadcastId,
  createBroadcast,
  openBroadcast,
  type VerifiedBroadcast,
} from '../../src/protocols/knowledge/broadcast.js'
import { KnowledgeStore } from '../../src/protocols/knowledge/knowledge-store.js'
import { Store } from '../../src/store/database.js'

const T0 = 1_700_000_000_000
const HOUR = 3600 * 1000

let dir: string
let path: string
let stores: Store[]
let knowledge: KnowledgeStore
let seq: number

function open(): KnowledgeStore {
  const s = new Store(path)
  stores.push(s)
  return new KnowledgeStore(s.db)
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawlink-knowledge-'))
  path = join(dir, 'store.db')
  stores = []
  seq = 0
  knowledge = open()
})

afterEach(() => {
  for (const s of stores) s.close()
  rmSync(dir, { recursive: true, force: true })
})

/** A broadcast made by hand: the store trusts what it is given, so raw can be any bytes. */
function make(overrides: Partial<VerifiedBroadcast> = {}): VerifiedBroadcast {
  seq++
  const raw = new TextEncoder().encode(`raw-${seq}`)
  return {
    id: broadcastId(raw),
    author: 'peer-alice',
    topic: 'general',
    tags: [],
    content: `message ${seq}`,
    time: T0 + seq,
    raw,
    ...overrides,
  }
}

function compare(a: { time: number; id: string }, b: { time: number; id: string }): number {
  return a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

describe('put, has, raw, count', () => {
  it('put is true the first time and false for the same id', () => {
    const b = make()
    expect(knowledge.put(b, T0)).toBe(true)
    expect(knowledge.put(b, T0 + 1)).toBe(false)
    // a different copy under the same id is not stored over the first
    expect(knowledge.put({ ...b, content: 'other', raw: new Uint8Array([9]) }, T0 + 2)).toBe(false)
    expect(knowledge.count()).toBe(1)
    expect(knowledge.raw(b.id)).toEqual(b.raw)
    const [stored] = knowledge.list()
    expect(stored!.content).toBe(b.content)
    expect(stored!.receivedAt).toBe(T0)
  })

  it('has and raw answer for stored ids only', () => {
    const b = make()
    expect(knowledge.has(b.id)).toBe(false)
    expect(knowledge.raw(b.id)).toBeUndefined()
    knowledge.put(b)
    expect(knowledge.has(b.id)).toBe(true)
    expect(knowledge.has(make().id)).toBe(false)
    const raw = knowledge.raw(b.id)
    expect(raw).toBeInstanceOf(Uint8Array)
    expect(raw).toEqual(b.raw)
  })

  it('count counts distinct broadcasts', () => {
    expect(knowledge.count()).toBe(0)
    for (let i = 0; i < 5; i++) knowledge.put(make())
    expect(knowledge.count()).toBe(5)
  })

  it('stores and returns a real signed broadcast unchanged', async () => {
    const key = await generateKeyPair('Ed25519')
    const peer = peerIdFromPrivateKey(key)
    const raw = await createBroadcast(
      key,
      peer.toMultihash().bytes,
      { topic: 'ci', tags: ['build', 'größe'], content: 'green ✓' },
      T0,
    )
    const b = await openBroadcast(raw, T0)
    expect(knowledge.put(b, T0 + 5)).toBe(true)
    expect(knowledge.raw(b.id)).toEqual(raw)
    // what comes back out opens to the same broadcast
    expect(await openBroadcast(knowledge.raw(b.id)!, T0)).toEqual(b)
    expect(knowledge.list()).toEqual([
      {
        id: b.id,
        author: peer.toString(),
        topic: 'ci',
        tags: ['build', 'größe'],
        content: 'green ✓',
        time: T0,
        receivedAt: T0 + 5,
      },
    ])
  })
})

describe('idsSince', () => {
  it('pages through 2,500 entries with the cursor, every id once, in (time, id) order', () => {
    const all: VerifiedBroadcast[] = []
    const db = stores[0]!
    db.transaction(() => {
      for (let i = 0; i < 2500; i++) {
        // groups of five share a time, so pages have to break ties by id
        const b = make({ time: T0 + Math.floor(i / 5) })
        all.push(b)
        knowledge.put(b)
      }
    })
    // several entries share the same time
    expect(new Set(all.map((b) => b.time)).size).toBe(500)
    const expected = all.map((b) => ({ id: b.id, time: b.time })).sort(compare)

    const seen: Array<{ id: string; time: number }> = []
    let cursor = ''
    let pages = 0
    for (;;) {
      const page = knowledge.idsSince(0, cursor, 1000)
      pages++
      expect(page.length).toBeLessThanOrEqual(1000)
      if (page.length === 0) break
      seen.push(...page)
      const last = page[page.length - 1]!
      cursor = `${last.time}:${last.id}`
      expect(pages).toBeLessThan(10)
    }
    // 1000 + 1000 + 500, then an empty page
    expect(pages).toBe(4)
    expect(seen).toEqual(expected)
    expect(new Set(seen.map((e) => e.id)).size).toBe(2500)
  })

  it('a page boundary inside a group of equal times neither skips nor repeats', () => {
    const same = Array.from({ length: 7 }, () => make({ time: T0 }))
    for (const b of same) knowledge.put(b)
    const sorted = same.map((b) => ({ id: b.id, time: b.time })).sort(compare)
    const first = knowledge.idsSince(0, '', 3)
    expect(first).toEqual(sorted.slice(0, 3))
    const second = knowledge.idsSince(0, `${T0}:${first[2]!.id}`, 3)
    expect(second).toEqual(sorted.slice(3, 6))
    const third = knowledge.idsSince(0, `${T0}:${second[2]!.id}`, 3)
    expect(third).toEqual(sorted.slice(6))
  })

  it('since excludes older entries and keeps those at exactly since', () => {
    const old = make({ time: T0 - 1 })
    const at = make({ time: T0 })
    const newer = make({ time: T0 + 1 })
    for (const b of [newer, old, at]) knowledge.put(b)
    expect(knowledge.idsSince(T0, '', 100).map((e) => e.id)).toEqual([at.id, newer.id])
    expect(knowledge.idsSince(T0 + 2, '', 100)).toEqual([])
    expect(knowledge.idsSince(0, '', 100).map((e) => e.id)).toEqual([old.id, at.id, newer.id])
    // since and a cursor together: the later of the two wins
    expect(knowledge.idsSince(T0, `${T0 - 1}:${old.id}`, 100).map((e) => e.id)).toEqual([at.id, newer.id])
    expect(knowledge.idsSince(0, `${T0}:${at.id}`, 100).map((e) => e.id)).toEqual([newer.id])
  })

  it('returns times as numbers and honours the limit', () => {
    for (let i = 0; i < 5; i++) knowledge.put(make())
    const page = knowledge.idsSince(0, '', 2)
    expect(page).toHaveLength(2)
    expect(typeof page[0]!.time).toBe('number')
  })

  it('an unreadable cursor starts from the beginning', () => {
    const a = make()
    knowledge.put(a)
    expect(knowledge.idsSince(0, 'garbage', 10).map((e) => e.id)).toEqual([a.id])
  })
})

describe('list', () => {
  let alice1: VerifiedBroadcast
  let bob: VerifiedBroadcast
  let alice2: VerifiedBroadcast
  let alice3: VerifiedBroadcast

  beforeEach(() => {
    alice1 = make({ author: 'alice', topic: 'ci', tags: ['build', 'red'], time: T0 })
    bob = make({ author: 'bob', topic: 'ci', tags: ['build'], time: T0 + 10 })
    alice2 = make({ author: 'alice', topic: 'general', tags: ['hello'], time: T0 + 20 })
    alice3 = make({ author: 'alice', topic: 'ci', tags: ['red'], time: T0 + 30 })
    for (const b of [bob, alice3, alice1, alice2]) knowledge.put(b, T0 + 100)
  })

  const ids = (list: Array<{ id: string }>) => list.map((b) => b.id)

  it('lists newest first, with every field', () => {
    expect(ids(knowledge.list())).toEqual([alice3.id, alice2.id, bob.id, alice1.id])
    const { raw: _raw, ...fields } = alice1
    expect(knowledge.list().at(-1)).toEqual({ ...fields, receivedAt: T0 + 100 })
  })

  it('filters by topic', () => {
    expect(ids(knowledge.list({ topic: 'ci' }))).toEqual([alice3.id, bob.id, alice1.id])
    expect(ids(knowledge.list({ topic: 'general' }))).toEqual([alice2.id])
    expect(knowledge.list({ topic: 'nothing' })).toEqual([])
  })

  it('filters by tag, matching whole tags only', () => {
    expect(ids(knowledge.list({ tag: 'red' }))).toEqual([alice3.id, alice1.id])
    expect(ids(knowledge.list({ tag: 'build' }))).toEqual([bob.id, alice1.id])
    expect(knowledge.list({ tag: 're' })).toEqual([])
    expect(knowledge.list({ tag: '"red"' })).toEqual([])
  })

  it('filters by author', () => {
    expect(ids(knowledge.list({ author: 'alice' }))).toEqual([alice3.id, alice2.id, alice1.id])
    expect(ids(knowledge.list({ author: 'bob' }))).toEqual([bob.id])
  })

  it('filters by since, inclusive', () => {
    expect(ids(knowledge.list({ since: T0 + 20 }))).toEqual([alice3.id, alice2.id])
    expect(knowledge.list({ since: T0 + 31 })).toEqual([])
  })

  it('limits to the newest entries', () => {
    expect(ids(knowledge.list({ limit: 2 }))).toEqual([alice3.id, alice2.id])
    expect(ids(knowledge.list({ limit: 1, topic: 'ci' }))).toEqual([alice3.id])
  })

  it('combines filters', () => {
    expect(ids(knowledge.list({ author: 'alice', topic: 'ci', tag: 'red', since: T0 + 1 }))).toEqual([
      alice3.id,
    ])
    expect(knowledge.list({ author: 'bob', tag: 'red' })).toEqual([])
  })

  it('returns at most 100 without a limit', () => {
    for (let i = 0; i < 150; i++) knowledge.put(make())
    expect(knowledge.list()).toHaveLength(100)
  })
})

describe('prune', () => {
  it('drops entries older than maxAge', () => {
    const now = T0 + 10 * HOUR
    const old = make({ time: now - 2 * HOUR - 1 })
    const edge = make({ time: now - 2 * HOUR })
    const fresh = make({ time: now - HOUR })
    for (const b of [old, edge, fresh]) knowledge.put(b)
    expect(knowledge.prune(100, 2 * HOUR, now)).toBe(1)
    expect(knowledge.has(old.id)).toBe(false)
    expect(knowledge.has(edge.id)).toBe(true)
    expect(knowledge.has(fresh.id)).toBe(true)
  })

  it('keeps only the newest maxItems', () => {
    const all = Array.from({ length: 10 }, (_, i) => make({ time: T0 + i }))
    for (const b of all) knowledge.put(b)
    expect(knowledge.prune(4, 100 * HOUR, T0 + 10)).toBe(6)
    expect(knowledge.count()).toBe(4)
    expect(knowledge.list().map((b) => b.id)).toEqual(
      all
        .slice(6)
        .reverse()
        .map((b) => b.id),
    )
    // nothing more to drop
    expect(knowledge.prune(4, 100 * HOUR, T0 + 10)).toBe(0)
  })

  it('applies both limits and reports the total dropped', () => {
    const now = T0 + 10 * HOUR
    const old = Array.from({ length: 3 }, (_, i) => make({ time: now - 5 * HOUR - i }))
    const fresh = Array.from({ length: 5 }, (_, i) => make({ time: now - i }))
    for (const b of [...old, ...fresh]) knowledge.put(b)
    expect(knowledge.prune(2, HOUR, now)).toBe(6)
    expect(knowledge.list().map((b) => b.id)).toEqual([fresh[0]!.id, fresh[1]!.id])
  })

  it('prunes nothing when within both limits', () => {
    for (let i = 0; i < 3; i++) knowledge.put(make())
    expect(knowledge.prune(3, HOUR, T0)).toBe(0)
    expect(knowledge.count()).toBe(3)
  })
})

describe('persistence', () => {
  it('keeps broadcasts across closing and reopening the database file', () => {
    const a = make({ tags: ['x', 'y'] })
    const b = make()
    knowledge.put(a, T0 + 7)
    knowledge.put(b, T0 + 8)
    stores[0]!.close()

    const reopened = open()
    expect(reopened.count()).toBe(2)
    expect(reopened.has(a.id)).toBe(true)
    expect(reopened.raw(a.id)).toEqual(a.raw)
    const { raw: _raw, ...fields } = a
    expect(reopened.list({ tag: 'x' })).toEqual([{ ...fields, receivedAt: T0 + 7 }])
    // dedup holds across the restart too
    expect(reopened.put(a)).toBe(false)
    expect(reopened.idsSince(0, '', 10).map((e) => e.id)).toEqual([a.id, b.id])
  })
})

describe('sync sequence', () => {
  it('numbers broadcasts in the order stored, never reusing a number after pruning', () => {
    const first = make({ time: T0 + 10 * HOUR })
    const second = make({ time: T0 })
    knowledge.put(first)
    knowledge.put(second)
    expect(knowledge.changes(0, 0, 10)).toEqual({ ids: [first.id, second.id], cursor: 2, more: false })
    // the one stored last is the oldest by time: pruning drops it, its number is not given again
    knowledge.prune(1, 365 * 24 * HOUR, T0 + 10 * HOUR)
    const third = make()
    knowledge.put(third)
    expect(knowledge.changes(2, 0, 10)).toEqual({ ids: [third.id], cursor: 3, more: false })
    // rows past the retention window are left out of the page, but the cursor moves past them
    expect(knowledge.changes(0, T0 + 5 * HOUR, 1)).toEqual({ ids: [first.id], cursor: 1, more: true })
    expect(knowledge.changes(1, T0 + 5 * HOUR, 10)).toEqual({ ids: [], cursor: 3, more: false })
  })

  it('a store of the schema before cursors keeps its history, numbered in insertion order', () => {
    // a store as an older ClawLink left it: broadcasts without a sequence column, no migrations run
    const path = join(dir, 'legacy.db')
    const raw = new (loadSqlite().DatabaseSync)(path)
    raw.exec(`CREATE TABLE broadcasts (id TEXT PRIMARY KEY, author TEXT NOT NULL, topic TEXT NOT NULL,
      tags TEXT NOT NULL, content TEXT NOT NULL, time INTEGER NOT NULL, received_at INTEGER NOT NULL,
      raw BLOB NOT NULL)`)
    const old = [make(), make(), make()]
    for (const b of old) {
      raw
        .prepare('INSERT INTO broadcasts VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(b.id, b.author, b.topic, '[]', b.content, b.time, T0, b.raw)
    }
    raw.close()
    const legacy = new Store(path)
    stores.push(legacy)
    const migrated = new KnowledgeStore(legacy.db)
    expect(migrated.count()).toBe(3)
    expect(migrated.changes(0, 0, 10)).toEqual({ ids: old.map((b) => b.id), cursor: 3, more: false })
    const next = make()
    expect(migrated.put(next)).toBe(true)
    expect(migrated.changes(3, 0, 10).ids).toEqual([next.id])
    // opening it again changes nothing, and keeps the epoch
    const epoch = migrated.sync.epoch()
    const again = new KnowledgeStore(legacy.db)
    expect(again.sync.epoch()).toBe(epoch)
    expect(again.changes(0, 0, 10).cursor).toBe(4)
  })
})

describe('the publish queue in the store', () => {
  it('own broadcasts after the published mark wait, in order, and still wait after a reopen', () => {
    const own = [make({ author: 'me' }), make({ author: 'me' }), make({ author: 'me' })]
    knowledge.put(make({ author: 'other' }))
    for (const b of own) knowledge.put(b)
    expect(knowledge.countUnpublished('me')).toBe(3)
    const first = knowledge.nextUnpublished('me')!
    expect(first.raw).toEqual(own[0]!.raw)
    knowledge.setPublished(first.seq)
    // a crash here: the store, reopened, still has the other two waiting
    const again = open()
    expect(again.countUnpublished('me')).toBe(2)
    expect(again.nextUnpublished('me')!.raw).toEqual(own[1]!.raw)
    again.setPublished(again.nextUnpublished('me')!.seq)
    again.setPublished(again.nextUnpublished('me')!.seq)
    expect(again.nextUnpublished('me')).toBeUndefined()
    expect(again.countUnpublished('me')).toBe(0)
  })

  it('a store from before the queue starts with everything in it marked published', () => {
    knowledge.put(make({ author: 'me' }))
    knowledge.put(make({ author: 'me' }))
    // the mark is set when a store first opens with the queue: forget it, as an older store would not have it
    stores[0]!.db.prepare("DELETE FROM meta WHERE key = 'knowledge.published_seq'").run()
    const upgraded = open()
    expect(upgraded.countUnpublished('me')).toBe(0)
    expect(upgraded.nextUnpublished('me')).toBeUndefined()
  })
})
