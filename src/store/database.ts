// The node's embedded store: SQLite (Node's built-in node:sqlite) in the data dir.
// WAL with synchronous=FULL: a committed transaction survives a crash or power loss, which the
// delivery protocols rely on before they acknowledge anything.
import type { DatabaseSync } from 'node:sqlite'
import { loadSqlite } from '../home/sqlite.js'

/** Schema migrations, applied in order; the index+1 is the schema version. */
const MIGRATIONS: string[] = [
  `CREATE TABLE peers (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     card TEXT NOT NULL,
     addrs TEXT NOT NULL,
     last_seen INTEGER NOT NULL,
     left_at INTEGER
   );
   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
]

/** Runs fn in one transaction on db (the caller must not be inside one): all of it, or none of it. */
export function transaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE')
  try {
    const result = fn()
    db.exec('COMMIT')
    return result
  } catch (err) {
    // SQLite rolls back by itself on some errors (SQLITE_FULL, SQLITE_IOERR, ...): a ROLLBACK then would
    // throw "no transaction is active" and hide the error that matters
    if (db.isTransaction) {
      try {
        db.exec('ROLLBACK')
      } catch {}
    }
    throw err
  }
}

export interface StoredPeer {
  id: string
  name: string
  /** The card as JSON, opaque to the store. */
  card: string
  addrs: string[]
  lastSeen: number
  leftAt?: number
}

export class Store {
  readonly db: DatabaseSync

  /** `verify` runs on the opened database before any migration, to refuse one that is not sound. */
  constructor(path: string, verify?: (db: DatabaseSync) => void) {
    const { DatabaseSync } = loadSqlite()
    this.db = new DatabaseSync(path)
    try {
      this.db.exec(
        'PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;',
      )
      verify?.(this.db)
      this.migrate()
    } catch (err) {
      this.db.close()
      throw err
    }
  }

  private migrate(): void {
    const version = Number(
      (this.db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version,
    )
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.transaction(() => {
        this.db.exec(MIGRATIONS[v]!)
        this.db.exec(`PRAGMA user_version = ${v + 1}`)
      })
    }
  }

  /** Runs fn in one transaction: all of it is durable, or none of it. */
  transaction<T>(fn: () => T): T {
    return transaction(this.db, fn)
  }

  upsertPeer(peer: StoredPeer): void {
    this.db
      .prepare(
        `INSERT INTO peers (id, name, card, addrs, last_seen, left_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET name=excluded.name, card=excluded.card, addrs=excluded.addrs,
           last_seen=excluded.last_seen, left_at=excluded.left_at`,
      )
      .run(peer.id, peer.name, peer.card, JSON.stringify(peer.addrs), peer.lastSeen, peer.leftAt ?? null)
  }

  listPeers(): StoredPeer[] {
    const rows = this.db.prepare('SELECT * FROM peers ORDER BY last_seen DESC').all() as Array<{
      id: string
      name: string
      card: string
      addrs: string
      last_seen: number
      left_at: number | null
    }>
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      card: r.card,
      addrs: JSON.parse(r.addrs) as string[],
      lastSeen: Number(r.last_seen),
      leftAt: r.left_at == null ? undefined : Number(r.left_at),
    }))
  }

  /** Forgets peers not seen since `before`, so the table stays bounded. */
  prunePeers(before: number): number {
    return Number(this.db.prepare('DELETE FROM peers WHERE last_seen < ?').run(before).changes)
  }

  getMeta(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as
      | { value: string }
      | undefined
    return row?.value
  }

  setMeta(key: string, value: string): void {
    this.db
      .prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value',
      )
      .run(key, value)
  }

  close(): void {
    if (this.db.isOpen) this.db.close()
  }
}
