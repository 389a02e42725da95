import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { VerifiedEntry } from '../../src/protocols/files/entry.js'
import { FileStore, type StoredEntry, stateOf } from '../../src/protocols/files/file-store.js'
import { Entry, EntryBody } from '../../src/protocols/files/pb/files.js'
import { Store } from '../../src/store/database.js'

// PeerId strings sort as plain strings; these two differ only late, as real ones do
const A = '12D3KooWAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
const B = '12D3KooWBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'
const C = '12D3KooWCccccccccccccccccccccccccccccccccccccccccccc'
const T0 = 1_750_000_000_000

let dir: string
let path: string
let stores: Store[]
let files: FileStore
let serial: number

function open(file = path): FileStore {
  const s = new Store(file)
  stores.push(s)
  return new FileStore(s.db)
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex')

/** A hand-made entry: id and raw derived from the fields (plus a serial, so equal fields differ). */
function entry(over: Partial<VerifiedEntry> & { key?: string; version?: number } = {}): VerifiedEntry {
  const n = serial++
  const version = over.version ?? 1
  const fields = {
    key: 'docs/a.md',
    version,
    base: version - 1,
    author: A,
    time: T0 + n,
    size: 10,
    sha256: sha(`content ${n}`),
    mediaType: 'text/markdown',
    deleted: false,
    ...over,
  }
  const raw = over.raw ?? Buffer.from(JSON.stringify({ ...fields, n }))
  return { ...fields, id: over.id ?? sha(Buffer.from(raw).toString()).slice(0, 32), raw }
}

function put(...es: VerifiedEntry[]): VerifiedEntry[] {
  es.forEach((e, i) => {
    expect(files.put(e, T0 + i)).toBe(true)
  })
  return es
}

const ids = (es: Array<{ id: string }>) => es.map((e) => e.id)

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawlink-filestore-'))
  path = join(dir, 'store.db')
  stores = []
  serial = 0
  files = open()
})

afterEach(() => {
  for (const s of stores) s.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('FileStore.put / has / raw', () => {
  it('stores an entry once: true, then false', () => {
    const e = entry()
    expect(files.has(e.id)).toBe(false)
    expect(files.put(e)).toBe(true)
    expect(files.has(e.id)).toBe(true)
    expect(files.put(e)).toBe(false)
    // the same id with other bytes is still the same entry
    expect(files.put({ ...e, raw: new Uint8Array([9, 9, 9]), version: 7 })).toBe(false)
    expect(files.history(e.key)).toHaveLength(1)
    expect(Buffer.from(files.raw(e.id)!).equals(Buffer.from(e.raw))).toBe(true)
  })

  it('keeps every field of the entry, with receivedAt', () => {
    const e = entry({ key: 'ünï/cödé.md', version: 2 ** 40, base: 2 ** 40 - 1, size: 2 ** 33, time: T0 })
    files.put(e, T0 + 5)
    const { raw: _raw, ...fields } = e
    expect(files.history(e.key)).toEqual([{ ...fields, receivedAt: T0 + 5 }])
    const del = entry({ key: 'gone', deleted: true, sha256: '', size: 0, mediaType: '' })
    files.put(del, T0 + 6)
    expect(files.history('gone')[0]).toMatchObject({ deleted: true, sha256: '', size: 0, mediaType: '' })
  })

  it('reads the signed hosted editor back from the stored bytes (no column of its own)', () => {
    const body = (hostedEditor?: string) =>
      EntryBody.encode({
        key: 'docs/a.md',
        version: 1,
        mediaType: 'text/plain; v1-editor=mallory',
        hostedEditor,
      })
    const signed = entry({ raw: Entry.encode({ body: body('xagent01'), signature: new Uint8Array(64) }) })
    const older = entry({
      key: 'docs/b.md',
      raw: Entry.encode({ body: body(), signature: new Uint8Array(64) }),
    })
    put(signed, older)
    expect(files.history('docs/a.md')[0]?.hostedEditor).toBe('xagent01')
    expect(files.state('docs/a.md')?.winner.hostedEditor).toBe('xagent01')
    // a version without it (an older node's) has none, whatever its media type says
    expect(files.history('docs/b.md')[0]).not.toHaveProperty('hostedEditor')
  })

  it('has no raw bytes and no state for unknown ids and keys', () => {
    expect(files.raw('0'.repeat(32))).toBeUndefined()
    expect(files.state('nothing')).toBeUndefined()
    expect(files.history('nothing')).toEqual([])
    expect(stateOf('nothing', [])).toBeUndefined()
  })
})

describe('FileStore.state: winner and conflict', () => {
  it('picks the highest version, whatever the order of arrival', () => {
    const v1 = entry({ version: 1, author: C })
    const v2 = entry({ version: 2, author: A })
    const v3 = entry({ version: 3, author: B })
    put(v3, v1, v2)
    const s = files.state('docs/a.md')!
    expect(s.winner.id).toBe(v3.id)
    expect(s.versions).toBe(3)
    expect(s.key).toBe('docs/a.md')
    expect(s.conflict).toBe(false)
  })

  it('breaks a tie at the same version by the higher author id, in any order of arrival', () => {
    const a = entry({ version: 2, base: 1, author: A })
    const c = entry({ version: 2, base: 1, author: C })
    const b = entry({ version: 2, base: 1, author: B })
    put(a, c, b)
    expect(files.state('docs/a.md')!.winner.id).toBe(c.id)
    const other = open(join(dir, 'other.db'))
    for (const e of [b, c, a]) other.put(e)
    expect(other.state('docs/a.md')!.winner.id).toBe(c.id)
  })

  it('picks the same winner on every node when one author wrote the same version twice', () => {
    // e.g. two writes raced on one node: both read maxVersion 1 and wrote version 2
    const x = entry({ version: 2, base: 1, author: A })
    const y = entry({ version: 2, base: 1, author: A })
    put(x, y)
    const other = open(join(dir, 'other.db'))
    other.put(y)
    other.put(x)
    const here = files.state('docs/a.md')!
    const there = other.state('docs/a.md')!
    expect(here.winner.id).toBe(there.winner.id)
    // the last tie-break is the higher entry id
    expect(here.winner.id).toBe([x.id, y.id].sort().at(-1))
    expect(ids(files.history('docs/a.md'))).toEqual(ids(other.history('docs/a.md')))
    expect(here.conflict).toBe(true)
    // and both prune the same one
    files.prune('docs/a.md', 1)
    other.prune('docs/a.md', 1)
    expect(ids(files.history('docs/a.md'))).toEqual([here.winner.id])
    expect(ids(other.history('docs/a.md'))).toEqual([here.winner.id])
  })

  it('has no conflict along a linear history', () => {
    put(entry({ version: 1 }), entry({ version: 2, author: B }), entry({ version: 3, author: C }))
    expect(files.state('docs/a.md')!.conflict).toBe(false)
  })

  it('flags a conflict when two entries share version 2 on base 1', () => {
    const v1 = entry({ version: 1, author: A })
    const a = entry({ version: 2, base: 1, author: A })
    const b = entry({ version: 2, base: 1, author: B })
    put(v1, a)
    expect(files.state('docs/a.md')!.conflict).toBe(false)
    put(b)
    const s = files.state('docs/a.md')!
    expect(s.winner.id).toBe(b.id)
    expect(s.conflict).toBe(true)
    expect(s.versions).toBe(3)
  })

  it('clears the conflict once a write has seen every other version', () => {
    put(
      entry({ version: 1 }),
      entry({ version: 2, base: 1, author: A }),
      entry({ version: 2, base: 1, author: B }),
    )
    expect(files.state('docs/a.md')!.conflict).toBe(true)
    const merge = entry({ version: 3, base: 2, author: A })
    put(merge)
    const s = files.state('docs/a.md')!
    expect(s.winner.id).toBe(merge.id)
    expect(s.conflict).toBe(false)
    expect(s.versions).toBe(4)
  })

  it('keeps the conflict when the newest write had not seen a version above its base', () => {
    // C knew only up to version 3; B's version 4 (on base 3) arrived later. C's entry jumped to 5.
    const v3 = entry({ version: 3, base: 2 })
    const b4 = entry({ version: 4, base: 3, author: B })
    const c5 = entry({ version: 5, base: 3, author: C })
    put(v3, c5, b4)
    const s = files.state('docs/a.md')!
    expect(s.winner.id).toBe(c5.id)
    expect(s.conflict).toBe(true)
  })

  it('flags a lower-version concurrent write only when its version is above the winner base', () => {
    // A wrote v3 on base 2 after seeing some version 2; B's v2 (base 1) is covered by that base:
    // by the rule (another version > winner.base) this is not a conflict
    const v1 = entry({ version: 1 })
    const b2 = entry({ version: 2, base: 1, author: B })
    const a3 = entry({ version: 3, base: 2, author: A })
    put(v1, a3, b2)
    expect(files.state('docs/a.md')).toMatchObject({ conflict: false, winner: { id: a3.id } })
    // whereas a version-3 write on base 1 had not seen version 2: B's v2 conflicts with it
    files.put(entry({ key: 'k2', version: 1 }))
    files.put(entry({ key: 'k2', version: 2, base: 1, author: B }))
    const a3b1 = entry({ key: 'k2', version: 3, base: 1, author: A })
    files.put(a3b1)
    expect(files.state('k2')).toMatchObject({ conflict: true, winner: { id: a3b1.id } })
  })

  it('reports a deleted winner', () => {
    put(entry({ version: 1 }))
    const del = entry({ version: 2, base: 1, author: B, deleted: true, sha256: '', size: 0, mediaType: '' })
    put(del)
    const s = files.state('docs/a.md')!
    expect(s.winner).toMatchObject({ id: del.id, deleted: true, sha256: '', size: 0 })
    expect(s.conflict).toBe(false)
    // a later write revives the key
    const v3 = entry({ version: 3, base: 2 })
    put(v3)
    expect(files.state('docs/a.md')!.winner).toMatchObject({ id: v3.id, deleted: false })
  })

  it('gives the history winner first: version descending, then author descending', () => {
    const v1 = entry({ version: 1, author: B })
    const v2a = entry({ version: 2, base: 1, author: A })
    const v2c = entry({ version: 2, base: 1, author: C })
    const v2b = entry({ version: 2, base: 1, author: B })
    const v3 = entry({ version: 3, base: 2, author: A })
    put(v2a, v1, v3, v2c, v2b)
    expect(ids(files.history('docs/a.md'))).toEqual(ids([v3, v2c, v2b, v2a, v1]))
    expect(files.history('docs/a.md')[0]!.id).toBe(files.state('docs/a.md')!.winner.id)
    // only this key
    put(entry({ key: 'docs/b.md', version: 9 }))
    expect(files.history('docs/a.md')).toHaveLength(5)
  })

  it('stateOf over the stored history agrees with state()', () => {
    put(entry({ version: 1 }), entry({ version: 2, author: B }), entry({ version: 2, author: C }))
    expect(stateOf('docs/a.md', files.history('docs/a.md'))).toEqual(files.state('docs/a.md'))
  })

  it('gives the highest version known for a key, losers included, 0 for none', () => {
    expect(files.maxVersion('docs/a.md')).toBe(0)
    put(entry({ version: 1 }), entry({ version: 4, base: 3, author: A }))
    expect(files.maxVersion('docs/a.md')).toBe(4)
    put(entry({ key: 'docs/b.md', version: 9 }))
    expect(files.maxVersion('docs/a.md')).toBe(4)
    expect(files.maxVersion('docs/b.md')).toBe(9)
    expect(files.maxVersion('docs')).toBe(0)
  })
})

describe('FileStore.list', () => {
  const keys = [
    'reports/q3.md',
    'reports/q4.md',
    'reports/sub/deep.txt',
    'reports',
    'reportsX/a',
    'report/x',
    'notes/a.md',
    'a_b/x',
    'axb/y',
    'a%c/z',
    'ünï/cödé.md',
    'emoji/😀.txt',
  ]

  beforeEach(() => {
    for (const key of keys) files.put(entry({ key }))
    // two versions of one key are still one listing
    files.put(entry({ key: 'reports/q3.md', version: 2, author: B }))
  })

  it('lists only keys with the prefix, each once with its state', () => {
    const l = files.list('reports/')
    expect(l.map((s) => s.key)).toEqual(['reports/q3.md', 'reports/q4.md', 'reports/sub/deep.txt'])
    expect(l[0]).toMatchObject({ key: 'reports/q3.md', versions: 2, winner: { version: 2, author: B } })
    expect(files.list('reports').map((s) => s.key)).toEqual([
      'reports',
      'reports/q3.md',
      'reports/q4.md',
      'reports/sub/deep.txt',
      'reportsX/a',
    ])
    expect(files.list('reports/q3.md').map((s) => s.key)).toEqual(['reports/q3.md'])
    expect(files.list('zzz')).toEqual([])
  })

  it('treats the prefix literally, not as a LIKE pattern', () => {
    expect(files.list('a_b/').map((s) => s.key)).toEqual(['a_b/x'])
    expect(files.list('a%').map((s) => s.key)).toEqual(['a%c/z'])
    expect(files.list('a').map((s) => s.key)).toEqual(['a%c/z', 'a_b/x', 'axb/y'])
  })

  it('finds keys with non-ASCII characters by prefix', () => {
    expect(files.list('ünï/').map((s) => s.key)).toEqual(['ünï/cödé.md'])
    expect(files.list('emoji/').map((s) => s.key)).toEqual(['emoji/😀.txt'])
    expect(files.list('emoji/😀').map((s) => s.key)).toEqual(['emoji/😀.txt'])
  })

  it("lists every key, sorted, for the prefix ''", () => {
    const all = files.list('').map((s) => s.key)
    expect(all).toHaveLength(keys.length)
    expect(new Set(all)).toEqual(new Set(keys))
    // sorted by code point (SQLite compares UTF-8 bytes)
    const byCodePoint = [...keys].sort((x, y) => {
      const [a, b] = [[...x].map((c) => c.codePointAt(0)!), [...y].map((c) => c.codePointAt(0)!)]
      for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!
      return a.length - b.length
    })
    expect(all).toEqual(byCodePoint)
    expect(files.list().map((s) => s.key)).toEqual(all)
  })
})

describe('FileStore.ids', () => {
  it('pages by rowid cursor, visiting every id once in insertion order', () => {
    const es = Array.from({ length: 23 }, (_, i) =>
      entry({ key: `k/${i % 5}`, version: 1 + Math.floor(i / 5) }),
    )
    put(...es)
    const seen: string[] = []
    let cursor = 0
    let pages = 0
    for (;;) {
      const page = files.ids(cursor, 7)
      if (page.length === 0) break
      pages++
      expect(page.length).toBeLessThanOrEqual(7)
      for (const p of page) {
        expect(p.rowid).toBeGreaterThan(cursor)
        expect(typeof p.rowid).toBe('number')
        cursor = p.rowid
        seen.push(p.id)
      }
    }
    expect(pages).toBe(4)
    expect(seen).toEqual(ids(es))
    expect(files.ids(cursor, 100)).toEqual([])
  })

  it('skips pruned entries and goes on after them', () => {
    const es = put(
      entry({ version: 1 }),
      entry({ version: 2, base: 1 }),
      entry({ version: 3, base: 2 }),
      entry({ key: 'other', version: 1 }),
    )
    files.prune('docs/a.md', 1)
    expect(files.ids(0, 10).map((p) => p.id)).toEqual([es[2]!.id, es[3]!.id])
  })
})

describe('FileStore.prune', () => {
  it('keeps the newest N versions of a key and returns how many it dropped', () => {
    const es = put(
      entry({ version: 1 }),
      entry({ version: 2, base: 1, author: A }),
      entry({ version: 2, base: 1, author: B }),
      entry({ version: 3, base: 2 }),
      entry({ version: 4, base: 3 }),
    )
    const other = put(entry({ key: 'docs/b.md', version: 1 }))
    expect(files.prune('docs/a.md', 2, T0)).toBe(3)
    expect(ids(files.history('docs/a.md'))).toEqual([es[4]!.id, es[3]!.id])
    expect(files.state('docs/a.md')).toMatchObject({ versions: 2, winner: { id: es[4]!.id } })
    // other keys are untouched
    expect(ids(files.history('docs/b.md'))).toEqual(ids(other))
    // nothing more to drop
    expect(files.prune('docs/a.md', 2, T0)).toBe(0)
    expect(files.prune('docs/a.md', 20, T0)).toBe(0)
    // keeping 1 drops v3
    expect(files.prune('docs/a.md', 1, T0)).toBe(1)
    expect(ids(files.history('docs/a.md'))).toEqual([es[4]!.id])
  })

  it('drops the loser of a tie before the winner', () => {
    const a = entry({ version: 2, base: 1, author: A })
    const b = entry({ version: 2, base: 1, author: B })
    put(b, a)
    expect(files.prune('docs/a.md', 1)).toBe(1)
    expect(ids(files.history('docs/a.md'))).toEqual([b.id])
  })

  it('remembers a pruned id: has() stays true, raw() is gone, put() will not bring it back', () => {
    const old = entry({ version: 1 })
    const cur = entry({ version: 2, base: 1 })
    put(old, cur)
    files.prune('docs/a.md', 1, T0)
    expect(files.has(old.id)).toBe(true)
    expect(files.raw(old.id)).toBeUndefined()
    expect(files.raw(cur.id)).toBeDefined()
    // sync offers it again: not stored
    expect(files.put(old)).toBe(false)
    expect(ids(files.history('docs/a.md'))).toEqual([cur.id])
    expect(files.maxVersion('docs/a.md')).toBe(2)
  })

  it('forgets pruned ids older than a time, so they could be taken again', () => {
    const a = entry({ version: 1 })
    const b = entry({ version: 2, base: 1 })
    const c = entry({ version: 3, base: 2 })
    put(a, b, c)
    files.prune('docs/a.md', 2, T0) // a, at T0
    files.prune('docs/a.md', 1, T0 + 1000) // b, at T0 + 1000
    files.forgetPruned(T0)
    expect(files.has(a.id)).toBe(true)
    files.forgetPruned(T0 + 1)
    expect(files.has(a.id)).toBe(false)
    expect(files.has(b.id)).toBe(true)
    expect(files.put(a)).toBe(true)
  })

  it('keeps nothing for a limit of 0', () => {
    put(entry({ version: 1 }), entry({ version: 2, base: 1 }))
    expect(files.prune('docs/a.md', 0)).toBe(2)
    expect(files.state('docs/a.md')).toBeUndefined()
    expect(files.list('')).toEqual([])
  })
})

describe('FileStore.references / referenced / eager', () => {
  const X = sha('x')
  const Y = sha('y')
  const Z = sha('z')

  it('lists the hashes retained, non-deleted entries refer to', () => {
    put(
      entry({ key: 'a', version: 1, sha256: X }),
      entry({ key: 'b', version: 1, sha256: X }),
      entry({ key: 'c', version: 1, sha256: Y }),
      entry({ key: 'c', version: 2, base: 1, deleted: true, sha256: '', size: 0 }),
    )
    expect(files.referenced()).toEqual(new Set([X, Y]))
    expect(files.references(X)).toBe(true)
    expect(files.references(Y)).toBe(true)
    expect(files.references(Z)).toBe(false)
    expect(files.references('')).toBe(false)
  })

  it('ignores deleted entries even if they carried a hash', () => {
    put(entry({ key: 'd', version: 1, deleted: true, sha256: Z, size: 0 }))
    expect(files.referenced()).toEqual(new Set())
    expect(files.references(Z)).toBe(false)
  })

  it('stops referencing content whose entries were pruned', () => {
    put(
      entry({ key: 'a', version: 1, sha256: X }),
      entry({ key: 'a', version: 2, base: 1, sha256: Y }),
      entry({ key: 'b', version: 1, sha256: Z }),
      entry({ key: 'b', version: 2, base: 1, sha256: Z }),
    )
    files.prune('a', 1)
    files.prune('b', 1)
    expect(files.references(X)).toBe(false)
    expect(files.references(Z)).toBe(true)
    expect(files.referenced()).toEqual(new Set([Y, Z]))
  })

  it('lists non-deleted entries up to a size for eager fetching, oldest received first', () => {
    const small = entry({ key: 'small', size: 10 })
    const edge = entry({ key: 'edge', size: 100 })
    const big = entry({ key: 'big', size: 101 })
    const empty = entry({ key: 'empty', size: 0, sha256: sha('') })
    const del = entry({ key: 'gone', deleted: true, sha256: '', size: 0 })
    const loser = entry({ key: 'small', version: 1, author: '0-loses', size: 50 })
    files.put(edge, T0 + 1)
    files.put(small, T0 + 5)
    files.put(big, T0 + 2)
    files.put(empty, T0 + 3)
    files.put(del, T0 + 4)
    files.put(loser, T0 + 6)
    expect(ids(files.eager(100))).toEqual(ids([edge, empty, small, loser]))
    expect(ids(files.eager(10))).toEqual(ids([empty, small]))
    expect(ids(files.eager(0))).toEqual(ids([empty]))
    expect(files.eager(100)[0]).toMatchObject({ key: 'edge', size: 100, receivedAt: T0 + 1 })
    const all: StoredEntry[] = files.eager(Number.MAX_SAFE_INTEGER)
    expect(all.some((e) => e.deleted)).toBe(false)
    expect(all).toHaveLength(5)
  })
})

describe('FileStore persistence', () => {
  it('keeps entries, pruned ids and row order across close and reopen', () => {
    const old = entry({ version: 1 })
    const cur = entry({ version: 2, base: 1, author: B })
    const other = entry({ key: 'x/y', version: 1, sha256: sha('y') })
    put(old, cur, other)
    files.prune('docs/a.md', 1, T0)
    const before = {
      state: files.state('docs/a.md'),
      list: files.list(''),
      ids: files.ids(0, 100),
    }
    for (const s of stores.splice(0)) s.close()

    const again = open()
    expect(again.state('docs/a.md')).toEqual(before.state)
    expect(again.list('')).toEqual(before.list)
    expect(again.ids(0, 100)).toEqual(before.ids)
    expect(again.has(old.id)).toBe(true)
    expect(again.put(old)).toBe(false)
    expect(Buffer.from(again.raw(cur.id)!).equals(Buffer.from(cur.raw))).toBe(true)
    expect(again.referenced()).toEqual(new Set([cur.sha256, other.sha256]))
    // a new entry goes after the old ones
    const next = entry({ key: 'z', version: 1 })
    again.put(next)
    expect(again.ids(before.ids.at(-1)!.rowid, 10).map((p) => p.id)).toEqual([next.id])
  })
})
