// The pull-sync engine between two in-memory ends: cursors move page by page and only after the
// page is stored, a new epoch means a full pass, a crash between storing and the cursor leaves no gap,
// and a pass between ends already in sync is one small exchange.
import type { Stream } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'
import { afterEach, describe, expect, it } from 'vitest'
import { type SyncComponents, SyncEngine, type SyncInit, SyncState } from '../../src/protocols/sync/index.js'
import { Store } from '../../src/store/database.js'

const PROTOCOL = '/test/sync/2.0.0'
const A = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'
const C = '12D3KooWRvrUVJN5xnzR2iKQoQ7DaGTewP2Rf9bSGUKLb2ttXZUD'
const B = '12D3KooWGRUVh8T3s6Lnr5x6yHkSyJhWHuW5JrCRUXmUEpMLa9ho'

const hex = (n: number, tag = 'a') => `${tag}${n.toString(16).padStart(31, '0')}`

/** A store of opaque items named by id, numbered by the table's own sequence. */
class Items {
  readonly store: Store
  state: SyncState
  received = 0
  constructor(path = ':memory:') {
    this.store = new Store(path)
    this.store.db.exec(`CREATE TABLE IF NOT EXISTS items (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE,
      raw BLOB)`)
    this.state = new SyncState(this.store.db, 'items')
  }
  put(id: string): void {
    this.store.db
      .prepare('INSERT OR IGNORE INTO items (id, raw) VALUES (?, ?)')
      .run(id, new TextEncoder().encode(id))
  }
  has(id: string): boolean {
    return this.store.db.prepare('SELECT 1 FROM items WHERE id = ?').get(id) != null
  }
  count(): number {
    return Number((this.store.db.prepare('SELECT count(*) AS n FROM items').get() as { n: number }).n)
  }
  /** Starts the sequence again under a new epoch, as a fresh store does. */
  reset(): void {
    this.store.db.exec(`DELETE FROM items; DELETE FROM sqlite_sequence WHERE name = 'items';
      DELETE FROM sync_sequences WHERE service = 'items'`)
    this.state = new SyncState(this.store.db, 'items')
  }
}

interface End {
  items: Items
  engine: SyncEngine
  handler?: (s: Stream, c: unknown) => Promise<void>
  changes: number
  gets: number[]
}

const ends = new Map<string, End>()

function end(
  self: string,
  items: Items,
  overrides: Partial<Pick<SyncInit, 'receive'>> & { setCursor?: SyncState['setCursor'] } = {},
): End {
  const e: End = { items, changes: 0, gets: [] } as unknown as End
  const components = {
    registrar: {
      handle: async (_p: string, h: End['handler']) => {
        e.handler = h
      },
      unhandle: async () => {},
      register: async () => 'topology',
      unregister: () => {},
    },
    connectionManager: {
      openStream: async (peer: { toString(): string }) => {
        const [out, inb] = await streamPair()
        void ends.get(peer.toString())!.handler!(inb, { remotePeer: peerIdFromString(self) })
        return out
      },
      getConnections: () => [],
    },
    logger: defaultLogger(),
    pubsub: { addEventListener: () => {}, removeEventListener: () => {} },
  } as unknown as SyncComponents
  const state = new Proxy(items.state, {
    get: (t, k) =>
      k === 'setCursor' && overrides.setCursor != null ? overrides.setCursor : Reflect.get(t, k),
  })
  e.engine = new SyncEngine(components, {
    protocol: PROTOCOL,
    logName: 'test',
    get state() {
      return overrides.setCursor != null ? state : items.state
    },
    source: {
      epoch: () => items.state.epoch(),
      head: () =>
        Number(
          (
            items.store.db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'items'`).get() as {
              seq: number
            }
          )?.seq ?? 0,
        ),
      changes: (after, limit) => {
        e.changes++
        const rows = items.store.db
          .prepare('SELECT seq, id FROM items WHERE seq > ? ORDER BY seq LIMIT ?')
          .all(after, limit) as Array<{ seq: number; id: string }>
        return {
          ids: rows.map((r) => r.id),
          cursor: Number(rows.at(-1)?.seq ?? after),
          more: rows.length === limit,
        }
      },
      raw: (id) => {
        e.gets.push(1)
        return (items.store.db.prepare('SELECT raw FROM items WHERE id = ?').get(id) as { raw: Uint8Array })
          ?.raw
      },
    },
    has: (id) => items.has(id),
    receive:
      overrides.receive ??
      (async (raws, asked) => {
        const ids: string[] = []
        let fetched = 0
        for (const raw of raws) {
          const id = new TextDecoder().decode(raw)
          if (!asked.has(id)) continue
          ids.push(id)
          if (!items.has(id)) {
            items.store.transaction(() => items.put(id))
            fetched++
            items.received++
          }
        }
        return { ids, fetched }
      }),
    responseBytes: 64 * 1024,
    maxResponse: 1024 * 1024,
  })
  ends.set(self, e)
  return e
}

async function pair(a: Items, b: Items, bOverrides = {}) {
  const ea = end(A, a)
  const eb = end(B, b, bOverrides)
  await ea.engine.start()
  await eb.engine.start()
  return { ea, eb }
}

afterEach(() => ends.clear())

describe('sync engine', () => {
  it('pages through everything once, then an in-sync pass is one small exchange', async () => {
    const a = new Items()
    const b = new Items()
    for (let i = 0; i < 2500; i++) a.put(hex(i))
    const { ea, eb } = await pair(a, b)
    const first = await eb.engine.syncFrom(peerIdFromString(A))
    expect(first).toMatchObject({ fetched: 2500, complete: true })
    expect(b.count()).toBe(2500)
    // pages of 1000 ids: 3 CHANGES requests
    expect(ea.changes).toBe(3)
    expect(b.state.cursor(A)).toEqual({ epoch: a.state.epoch(), seq: 2500 })
    ea.changes = 0
    const second = await eb.engine.syncFrom(peerIdFromString(A))
    expect(second).toMatchObject({ fetched: 0, complete: true })
    expect(ea.changes).toBe(1)
    expect(second.bytes).toBeLessThan(200)
    // only what changed since moves
    a.put(hex(9999))
    const third = await eb.engine.syncFrom(peerIdFromString(A))
    expect(third.fetched).toBe(1)
    expect(b.state.cursor(A)?.seq).toBe(2501)
  })

  it('a new epoch on the peer means a full pass from zero', async () => {
    const a = new Items()
    const b = new Items()
    for (let i = 0; i < 50; i++) a.put(hex(i))
    const { eb } = await pair(a, b)
    await eb.engine.syncFrom(peerIdFromString(A))
    const old = a.state.epoch()
    a.reset()
    expect(a.state.epoch()).not.toBe(old)
    // new items numbered from 1 again: below the old cursor of 50
    for (let i = 0; i < 10; i++) a.put(hex(i, 'b'))
    const r = await eb.engine.syncFrom(peerIdFromString(A))
    expect(r).toMatchObject({ fetched: 10, complete: true })
    expect(b.state.cursor(A)).toEqual({ epoch: a.state.epoch(), seq: 10 })
  })

  it('a peer restored from a backup (same epoch, its sequence back) is read from zero', async () => {
    const a = new Items()
    const b = new Items()
    for (let i = 0; i < 100; i++) a.put(hex(i))
    const { eb } = await pair(a, b)
    await eb.engine.syncFrom(peerIdFromString(A))
    expect(b.state.cursor(A)?.seq).toBe(100)
    // what a backup taken at 50 holds: the same epoch, the sequence at 50
    a.store.db.exec(
      `DELETE FROM items WHERE seq > 50; UPDATE sqlite_sequence SET seq = 50 WHERE name = 'items'`,
    )
    for (let i = 0; i < 5; i++) a.put(hex(i, 'c'))
    const r = await eb.engine.syncFrom(peerIdFromString(A))
    expect(r).toMatchObject({ fetched: 5, complete: true })
    expect(b.state.cursor(A)?.seq).toBe(55)
  })

  it('a crash after storing a page but before its cursor leaves no gap: the page is asked again', async () => {
    const path = `/tmp/clawlink-sync-${process.pid}-${Date.now()}.db`
    const a = new Items()
    for (let i = 0; i < 1500; i++) a.put(hex(i))
    let b = new Items(path)
    const { eb } = await pair(a, b, {
      setCursor: () => {
        throw new Error('crash before the cursor commit')
      },
    })
    const crashed = await eb.engine.syncFrom(peerIdFromString(A))
    expect(crashed.complete).toBe(false)
    // the first page was stored, the cursor was not
    expect(b.count()).toBe(1000)
    expect(b.state.cursor(A)).toBeUndefined()
    b.store.db.close()
    // the node comes back on the same store
    b = new Items(path)
    const eb2 = end(B, b)
    await eb2.engine.start()
    const r = await eb2.engine.syncFrom(peerIdFromString(A))
    expect(r).toMatchObject({ fetched: 500, complete: true })
    expect(b.count()).toBe(1500)
    expect(b.state.cursor(A)?.seq).toBe(1500)
  })

  it('a crash in the middle of a page leaves no gap either', async () => {
    const a = new Items()
    const b = new Items()
    for (let i = 0; i < 800; i++) a.put(hex(i))
    let stored = 0
    const { eb } = await pair(a, b, {
      receive: async (raws: Uint8Array[]) => {
        for (const raw of raws) {
          if (stored === 300) throw new Error('the process dies here')
          b.put(new TextDecoder().decode(raw))
          stored++
        }
        return { ids: [], fetched: 0 }
      },
    })
    expect((await eb.engine.syncFrom(peerIdFromString(A))).complete).toBe(false)
    expect(b.count()).toBe(300)
    expect(b.state.cursor(A)).toBeUndefined()
    const eb2 = end(B, b)
    await eb2.engine.start()
    expect(await eb2.engine.syncFrom(peerIdFromString(A))).toMatchObject({ fetched: 500, complete: true })
    expect(b.count()).toBe(800)
  })

  it('an item refused for now keeps the cursor before its page', async () => {
    const a = new Items()
    const b = new Items()
    for (let i = 0; i < 20; i++) a.put(hex(i))
    const { eb } = await pair(a, b, {
      receive: async (raws: Uint8Array[]) => {
        for (const raw of raws.slice(1)) b.put(new TextDecoder().decode(raw))
        return {
          ids: raws.slice(1).map((r) => new TextDecoder().decode(r)),
          fetched: raws.length - 1,
          hold: true,
        }
      },
    })
    expect((await eb.engine.syncFrom(peerIdFromString(A))).complete).toBe(false)
    expect(b.state.cursor(A)).toBeUndefined()
    const eb2 = end(B, b)
    await eb2.engine.start()
    expect(await eb2.engine.syncFrom(peerIdFromString(A))).toMatchObject({ fetched: 1, complete: true })
    expect(b.count()).toBe(20)
  })

  it('a response with a bad epoch is refused and moves nothing', async () => {
    const a = new Items()
    const b = new Items()
    for (let i = 0; i < 5; i++) a.put(hex(i))
    const { eb } = await pair(a, b)
    await eb.engine.syncFrom(peerIdFromString(A))
    const real = a.state
    ;(a as { state: SyncState }).state = { ...real, epoch: () => 'not-an-epoch' } as unknown as SyncState
    expect((await eb.engine.syncFrom(peerIdFromString(A))).complete).toBe(false)
    a.state = real
    expect(b.state.cursor(A)?.seq).toBe(5)
  })

  it('passes from two peers at once fetch each item once', async () => {
    const a = new Items()
    const c = new Items()
    const b = new Items()
    for (let i = 0; i < 600; i++) {
      a.put(hex(i))
      c.put(hex(i))
    }
    const { ea, eb } = await pair(a, b)
    const ec = end(C, c)
    await ec.engine.start()
    const [ra, rc] = await Promise.all([
      eb.engine.syncFrom(peerIdFromString(A)),
      eb.engine.syncFrom(peerIdFromString(C)),
    ])
    expect(ra.complete && rc.complete).toBe(true)
    expect(b.count()).toBe(600)
    expect(b.received).toBe(600)
    expect(ea.gets.length + ec.gets.length).toBe(600)
    expect(b.state.cursor(A)?.seq).toBe(600)
    expect(b.state.cursor(C)?.seq).toBe(600)
  })
})
