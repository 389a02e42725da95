// Prepared statements, compiled once per database and SQL text: the hot paths run the same few queries
// thousands of times a second, and preparing one costs as much as running it.
import type { DatabaseSync, StatementSync } from 'node:sqlite'

const caches = new WeakMap<DatabaseSync, Map<string, StatementSync>>()

/** db.prepare(sql), cached. Only for a fixed set of texts (not SQL built from unbounded input). */
export function prepared(db: DatabaseSync, sql: string): StatementSync {
  let cache = caches.get(db)
  if (cache == null) {
    cache = new Map()
    caches.set(db, cache)
  }
  let stmt = cache.get(sql)
  if (stmt == null) {
    stmt = db.prepare(sql)
    cache.set(sql, stmt)
  }
  return stmt
}
