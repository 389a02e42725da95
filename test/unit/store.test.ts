import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Store, type StoredPeer } from '../../src/store/database.js'
import { MIGRATIONS } from '../../src/store/migrations.js'

let dir: string
let path: string
const open: Store[] = []

function openStore(): Store {
  const store = new Store(path)
  open.push(store)
  return store
}

function peer(id: string, overrides: Partial<StoredPeer> = {}): StoredPeer {
  return {
    id,
    name: `agent-${id}`,
    card: JSON.stringify({ name: `agent-${id}`, caps: ['code'] }),
    addrs: [`/ip4/127.0.0.1/tcp/4001/p2p/${id}`],
    lastSeen: 1_000,
    ...overrides,
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawlink-store-'))
  path = join(dir, 'store.db')
})
afterEach(() => {
  for (const s of open.splice(0)) s.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('Store', () => {
  it('creates the database file with the schema at the latest version, in WAL mode', () => {
    const store = openStore()
    expect(existsSync(path)).toBe(true)
    expect(store.db.prepare('PRAGMA user_version').get()).toEqual({ user_version: MIGRATIONS.length })
    expect(store.db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' })
    expect(store.listPeers()).toEqual([])
  })

  it('round-trips a peer through upsertPeer and listPeers', () => {
    const store = openStore()
    const p = peer('p1', { addrs: ['/ip4/1.2.3.4/tcp/1', '/dns4/x.example/tcp/2'], leftAt: 1_500 })
    store.upsertPeer(p)
    expect(store.listPeers()).toEqual([p])
  })

  it('reads an absent leftAt back as undefined', () => {
    const store = openStore()
    store.upsertPeer(peer('p1'))
    const [row] = store.listPeers()
    expect(row?.leftAt).toBeUndefined()
    expect(row?.lastSeen).toBe(1_000)
    expect(typeof row?.lastSeen).toBe('number')
  })

  it('keeps millisecond timestamps exact', () => {
    const store = openStore()
    const now = 1_733_000_000_123
    store.upsertPeer(peer('p1', { lastSeen: now, leftAt: now + 1 }))
    expect(store.listPeers()[0]).toMatchObject({ lastSeen: now, leftAt: now + 1 })
  })

  it('updates a peer in place, clearing leftAt when it comes back', () => {
    const store = openStore()
    store.upsertPeer(peer('p1', { leftAt: 1_000 }))
    const updated = peer('p1', { name: 'renamed', card: '{"v":2}', addrs: [], lastSeen: 2_000 })
    store.upsertPeer(updated)
    expect(store.listPeers()).toEqual([updated])
  })

  it('lists the most recently seen first', () => {
    const store = openStore()
    store.upsertPeer(peer('a', { lastSeen: 10 }))
    store.upsertPeer(peer('b', { lastSeen: 30 }))
    store.upsertPeer(peer('c', { lastSeen: 20 }))
    expect(store.listPeers().map((p) => p.id)).toEqual(['b', 'c', 'a'])
  })

  it('prunePeers deletes peers seen before the cutoff and counts them', () => {
    const store = openStore()
    store.upsertPeer(peer('old', { lastSeen: 10 }))
    store.upsertPeer(peer('edge', { lastSeen: 20 }))
    store.upsertPeer(peer('new', { lastSeen: 30 }))
    expect(store.prunePeers(20)).toBe(1)
    expect(store.listPeers().map((p) => p.id)).toEqual(['new', 'edge'])
    expect(store.prunePeers(20)).toBe(0)
    expect(store.prunePeers(1_000)).toBe(2)
    expect(store.listPeers()).toEqual([])
  })

  it('gets and sets meta values, overwriting', () => {
    const store = openStore()
    expect(store.getMeta('k')).toBeUndefined()
    store.setMeta('k', 'v1')
    expect(store.getMeta('k')).toBe('v1')
    store.setMeta('k', 'v2')
    expect(store.getMeta('k')).toBe('v2')
    store.setMeta('other', '')
    expect(store.getMeta('other')).toBe('')
    expect(store.getMeta('k')).toBe('v2')
  })

  it('commits a transaction and returns its result', () => {
    const store = openStore()
    const result = store.transaction(() => {
      store.upsertPeer(peer('a'))
      store.setMeta('k', 'v')
      return 42
    })
    expect(result).toBe(42)
    expect(store.listPeers()).toHaveLength(1)
    expect(store.getMeta('k')).toBe('v')
  })

  it('rolls back everything in a transaction that throws, and rethrows', () => {
    const store = openStore()
    store.setMeta('k', 'before')
    const boom = new Error('boom')
    expect(() =>
      store.transaction(() => {
        store.upsertPeer(peer('a'))
        store.setMeta('k', 'during')
        throw boom
      }),
    ).toThrow(boom)
    expect(store.listPeers()).toEqual([])
    expect(store.getMeta('k')).toBe('before')
    // The connection is usable afterwards: no transaction left open.
    expect(store.db.isTransaction).toBe(false)
    store.transaction(() => store.setMeta('k', 'after'))
    expect(store.getMeta('k')).toBe('after')
  })

  it('keeps data across close and reopen, without re-running migrations', () => {
    const first = openStore()
    first.upsertPeer(peer('p1', { leftAt: 5 }))
    first.setMeta('identity', 'abc')
    first.transaction(() => first.upsertPeer(peer('p2', { lastSeen: 2_000 })))
    first.close()
    expect(first.db.isOpen).toBe(false)

    const second = openStore()
    expect(second.listPeers()).toEqual([peer('p2', { lastSeen: 2_000 }), peer('p1', { leftAt: 5 })])
    expect(second.getMeta('identity')).toBe('abc')
    expect(second.db.prepare('PRAGMA user_version').get()).toEqual({ user_version: MIGRATIONS.length })
  })

  it('sees data committed by another connection to the same file', () => {
    const a = openStore()
    const b = openStore()
    a.setMeta('k', 'from-a')
    expect(b.getMeta('k')).toBe('from-a')
  })

  it('close is idempotent', () => {
    const store = openStore()
    store.close()
    expect(() => store.close()).not.toThrow()
  })
})
