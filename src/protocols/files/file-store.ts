// The replicated file map's entries: every retained version of every key, and which one wins.
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { SyncState } from '../sync/sync-state.js'
import type { VerifiedEntry } from './entry.js'
import { Entry, EntryBody } from './pb/files.js'

export interface StoredEntry extends Omit<VerifiedEntry, 'raw'> {
  receivedAt: number
}

export interface KeyState {
  key: string
  winner: StoredEntry
  /** another retained version was written without seeing the winner */
  conflict: boolean
  /** retained versions, winner first */
  versions: number
}

type Row = Record<string, string | number | Uint8Array | null>

/** The signed hosted editor, read back from the stored bytes (it has no column of its own). */
function hostedEditor(raw: unknown): string | undefined {
  if (!(raw instanceof Uint8Array)) return undefined
  try {
    return EntryBody.decode(Entry.decode(raw).body).hostedEditor
  } catch {
    return undefined
  }
}

function toEntry(r: Row): StoredEntry {
  const editor = hostedEditor(r.raw)
  return {
    ...(editor != null ? { hostedEditor: editor } : {}),
    id: r.id as string,
    key: r.key as string,
    version: Number(r.version),
    base: Number(r.base),
    author: r.author as string,
    time: Number(r.time),
    size: Number(r.size),
    sha256: r.sha256 as string,
    mediaType: r.media_type as string,
    deleted: Number(r.deleted) === 1,
    receivedAt: Number(r.received_at),
  }
}

/** The winner: highest version, then highest PeerId, then highest id. Entries come sorted that way. */
export function stateOf(key: string, entries: StoredEntry[]): KeyState | undefined {
  const winner = entries[0]
  if (winner == null) return undefined
  const conflict = entries.some((e) => e.id !== winner.id && e.version > winner.base)
  return { key, winner, conflict, versions: entries.length }
}

export class FileStore {
  private readonly db: DatabaseSync
  private readonly stmt: Record<string, StatementSync>
  /** epoch and per-peer cursors of entry sync (the sequence is the table's own `seq`) */
  readonly sync: SyncState

  constructor(db: DatabaseSync) {
    this.db = db
    // its tables are the store's (src/store/migrations.ts)
    this.sync = new SyncState(db, 'files')
    this.stmt = {
      insert:
        db.prepare(`INSERT OR IGNORE INTO file_entries (id, key, version, base, author, time, size, sha256, media_type,
        deleted, received_at, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      has: db.prepare(
        'SELECT 1 FROM file_entries WHERE id = ? UNION ALL SELECT 1 FROM file_entries_pruned WHERE id = ?',
      ),
      raw: db.prepare('SELECT raw FROM file_entries WHERE id = ?'),
      history: db.prepare(
        'SELECT id, key, version, base, author, time, size, sha256, media_type, deleted, received_at, raw FROM file_entries WHERE key = ? ORDER BY version DESC, author DESC, id DESC',
      ),
      ids: db.prepare('SELECT seq AS rowid, id FROM file_entries WHERE seq > ? ORDER BY seq LIMIT ?'),
      head: db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'file_entries'`),
      maxVersion: db.prepare('SELECT max(version) AS v FROM file_entries WHERE key = ?'),
      prune: db.prepare(
        `SELECT id FROM file_entries WHERE key = ? ORDER BY version DESC, author DESC, id DESC LIMIT -1 OFFSET ?`,
      ),
      del: db.prepare('DELETE FROM file_entries WHERE id = ?'),
      markPruned: db.prepare('INSERT OR IGNORE INTO file_entries_pruned (id, at) VALUES (?, ?)'),
      shas: db.prepare(`SELECT DISTINCT sha256 FROM file_entries WHERE deleted = 0`),
      refs: db.prepare('SELECT 1 FROM file_entries WHERE sha256 = ? AND deleted = 0 LIMIT 1'),
      keys: db.prepare(`SELECT DISTINCT key FROM file_entries WHERE key >= ? AND key < ? ORDER BY key`),
      missing:
        db.prepare(`SELECT id, key, version, base, author, time, size, sha256, media_type, deleted, received_at, raw
        FROM file_entries WHERE deleted = 0 AND size <= ? ORDER BY received_at`),
    }
  }

  /** Stores an entry unless known (or pruned before); true if new. Call inside a transaction. */
  put(e: VerifiedEntry, receivedAt = Date.now()): boolean {
    if (this.has(e.id)) return false
    const r = this.stmt.insert!.run(
      e.id,
      e.key,
      e.version,
      e.base,
      e.author,
      e.time,
      e.size,
      e.sha256,
      e.mediaType,
      e.deleted ? 1 : 0,
      receivedAt,
      e.raw,
    )
    return Number(r.changes) > 0
  }

  has(id: string): boolean {
    return this.stmt.has!.get(id, id) != null
  }

  raw(id: string): Uint8Array | undefined {
    return (this.stmt.raw!.get(id) as { raw: Uint8Array } | undefined)?.raw
  }

  history(key: string): StoredEntry[] {
    return (this.stmt.history!.all(key) as Row[]).map(toEntry)
  }

  state(key: string): KeyState | undefined {
    return stateOf(key, this.history(key))
  }

  maxVersion(key: string): number {
    return Number((this.stmt.maxVersion!.get(key) as { v: number | null }).v ?? 0)
  }

  /** Keys starting with `prefix`, each with its winner and conflict flag. */
  list(prefix = ''): KeyState[] {
    const rows = this.stmt.keys!.all(prefix, `${prefix}\u{10FFFF}`) as Array<{ key: string }>
    return rows.map((r) => this.state(r.key)).filter((s): s is KeyState => s != null)
  }

  /** Entry ids in insertion order after `cursor` (a rowid), for sync. */
  ids(cursor: number, limit: number): Array<{ rowid: number; id: string }> {
    return (this.stmt.ids!.all(cursor, limit) as Array<{ rowid: number; id: string }>).map((r) => ({
      rowid: Number(r.rowid),
      id: r.id,
    }))
  }

  /** The highest sequence number given to an entry (AUTOINCREMENT never gives one twice). */
  head(): number {
    return Number((this.stmt.head!.get() as { seq: number } | undefined)?.seq ?? 0)
  }

  /** Ids of entries stored after sequence `after`, for cursor sync; the sequence the page got to. */
  changes(after: number, limit: number): { ids: string[]; cursor: number; more: boolean } {
    const page = this.ids(after, limit)
    return { ids: page.map((p) => p.id), cursor: page.at(-1)?.rowid ?? after, more: page.length === limit }
  }

  /** Keeps the newest `limit` versions of `key`; returns how many were dropped. */
  prune(key: string, limit: number, now = Date.now()): number {
    const old = this.stmt.prune!.all(key, limit) as Array<{ id: string }>
    for (const { id } of old) {
      this.stmt.del!.run(id)
      this.stmt.markPruned!.run(id, now)
    }
    return old.length
  }

  /** Content hashes referenced by a retained entry (blobs not listed here may be collected). */
  referenced(): Set<string> {
    return new Set((this.stmt.shas!.all() as Array<{ sha256: string }>).map((r) => r.sha256))
  }

  references(sha256: string): boolean {
    return this.stmt.refs!.get(sha256) != null
  }

  /** Retained, non-deleted entries up to `maxSize` bytes (whose content a node fetches eagerly). */
  eager(maxSize: number): StoredEntry[] {
    return (this.stmt.missing!.all(maxSize) as Row[]).map(toEntry)
  }

  forgetPruned(before: number): void {
    this.db.prepare('DELETE FROM file_entries_pruned WHERE at < ?').run(before)
  }
}
