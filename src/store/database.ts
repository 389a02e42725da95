// The node's embedded store: SQLite (Node's built-in node:sqlite) in the data dir.
// WAL with synchronous=FULL: a committed transaction survives a crash or power loss, which the
// delivery protocols rely on before they acknowledge anything.
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { loadSqlite } from '../home/sqlite.js'
import { migrate } from './migrations.js'
import { prepared } from './statements.js'
import { afterCommit, transaction } from './transaction.js'

export { afterCommit, NestedTransactionError, transaction } from './transaction.js'

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
      migrate(this.db, (fn) => this.transaction(fn))
    } catch (err) {
      this.db.close()
      throw err
    }
  }

  /** Runs fn in one transaction: all of it is durable, or none of it. */
  transaction<T>(fn: () => T): T {
    return transaction(this.db, fn)
  }

  /** Runs fn once the open transaction has committed (at once outside one). */
  afterCommit(fn: () => void): void {
    afterCommit(this.db, fn)
  }

  /** A prepared statement for a fixed SQL text, compiled once. */
  prepare(sql: string): StatementSync {
    return prepared(this.db, sql)
  }

  upsertPeer(peer: StoredPeer): void {
    this.prepare(
      `INSERT INTO peers (id, name, card, addrs, last_seen, left_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET name=excluded.name, card=excluded.card, addrs=excluded.addrs,
           last_seen=excluded.last_seen, left_at=excluded.left_at`,
    ).run(peer.id, peer.name, peer.card, JSON.stringify(peer.addrs), peer.lastSeen, peer.leftAt ?? null)
  }

  listPeers(): StoredPeer[] {
    const rows = this.prepare('SELECT * FROM peers ORDER BY last_seen DESC').all() as Array<{
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
    return Number(this.prepare('DELETE FROM peers WHERE last_seen < ?').run(before).changes)
  }

  getMeta(key: string): string | undefined {
    const row = this.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined
    return row?.value
  }

  setMeta(key: string, value: string): void {
    this.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value',
    ).run(key, value)
  }

  close(): void {
    if (this.db.isOpen) this.db.close()
  }
}
