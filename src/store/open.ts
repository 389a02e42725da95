// Opens the node's store at start, refusing to begin again as an empty node when the store of a node
// that already has an identity is missing, empty or damaged: that would silently forget its tasks.
import { existsSync, renameSync, statSync } from 'node:fs'
import type { DatabaseSync } from 'node:sqlite'
import type { DataDirPaths } from '../home/paths.js'
import { Store } from './database.js'
import { isCorrupt, StoreDamagedError } from './errors.js'

/** Tables every store a node has run on holds. */
const REQUIRED_TABLES = ['peers', 'meta', 'tasks', 'outbox']

export interface OpenedStore {
  store: Store
  /** Where a bad store was moved by --reset-store, and why it was bad. */
  reset?: { movedTo?: string; problem: string }
  /** How long PRAGMA quick_check took, in ms. */
  checkMs: number
}

/**
 * Opens paths.store. `existing`: the node has an identity, so it has run before and its store must be
 * there and sound. `reset`: a bad store is moved aside (store.db.damaged-TIME) and a fresh one created.
 */
export function openStore(paths: DataDirPaths, opts: { existing: boolean; reset: boolean }): OpenedStore {
  let checkMs = 0
  const verify = (db: DatabaseSync) => {
    const started = performance.now()
    let rows: Array<Record<string, unknown>>
    try {
      rows = db.prepare('PRAGMA quick_check(5)').all() as Array<Record<string, unknown>>
    } catch (err) {
      if (isCorrupt(err)) throw new StoreDamagedError(`quick_check failed: ${(err as Error).message}`)
      throw err
    }
    checkMs = performance.now() - started
    const findings = rows.map((r) => String(Object.values(r)[0])).filter((f) => f !== 'ok')
    if (findings.length > 0) throw new StoreDamagedError(`quick_check found: ${findings.join('; ')}`)
    if (!opts.existing) return
    const version = Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version)
    const tables = new Set(
      (
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>
      ).map((r) => r.name),
    )
    const missing = REQUIRED_TABLES.filter((t) => !tables.has(t))
    if (version < 1 || missing.length > 0)
      throw new StoreDamagedError(`it has no node schema (missing ${missing.join(', ') || 'its version'})`)
  }
  const problem = problemOf(paths, opts.existing) ?? tryOpen(paths, verify)
  if (problem instanceof Store) return { store: problem, checkMs }
  if (!opts.reset) {
    throw new StoreDamagedError(
      `the store ${paths.store} is ${problem}; restore it from a backup, or start fresh with --reset-store (this forgets tasks, files and knowledge; the identity is kept)`,
    )
  }
  const movedTo = moveAside(paths.store)
  const store = new Store(paths.store)
  return { store, reset: { movedTo, problem }, checkMs }
}

/** What is wrong with the file before SQLite opens it, if anything. */
function problemOf(paths: DataDirPaths, existing: boolean): string | undefined {
  if (!existing) return undefined
  if (!existsSync(paths.store)) return 'missing'
  if (statSync(paths.store).size === 0) return 'empty (0 bytes)'
  return undefined
}

function tryOpen(paths: DataDirPaths, verify: (db: DatabaseSync) => void): Store | string {
  try {
    return new Store(paths.store, verify)
  } catch (err) {
    if (err instanceof StoreDamagedError) return `damaged: ${err.message}`
    if (isCorrupt(err)) return `damaged: ${(err as Error).message}`
    throw err
  }
}

/** Moves a bad store and its WAL files aside, keeping them for salvage; returns the new name. */
function moveAside(store: string): string | undefined {
  const to = `${store}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`
  // a WAL left without its store must go too, or SQLite could replay it into the fresh one
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(store + suffix)) renameSync(store + suffix, to + suffix)
  }
  if (!existsSync(store)) return undefined
  renameSync(store, to)
  return to
}
