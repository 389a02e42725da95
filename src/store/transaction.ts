// Transactions on the node's database: all of a unit of work is durable, or none of it. One at a time
// (node:sqlite is synchronous, so a nested call is always a bug: it would commit the outer work half
// done), and work that must only happen once the data is on disk (waking a poll, acking, publishing)
// is queued with afterCommit rather than run inside.
import type { DatabaseSync } from 'node:sqlite'
import { prepared } from './statements.js'

/** A transaction was started inside another one on the same database. */
export class NestedTransactionError extends Error {
  static override readonly name = 'NestedTransactionError'
  override name = 'NestedTransactionError'
  constructor() {
    super('a transaction was started inside another one')
  }
}

interface Hooks {
  commit: Array<() => void>
  rollback: Array<() => void>
}

/** The hooks of the transaction open on each database. */
const open = new WeakMap<DatabaseSync, Hooks>()

/** Where a failing after-commit hook is reported (the commit itself stands). */
let hookFailed: (err: unknown) => void = (err) => {
  process.emitWarning(`an after-commit hook failed: ${(err as Error)?.stack ?? String(err)}`)
}

export function onHookError(fn: (err: unknown) => void): void {
  hookFailed = fn
}

/** Whether a transaction is open on db. */
export function inTransaction(db: DatabaseSync): boolean {
  return open.has(db) || db.isTransaction
}

/**
 * Runs fn in one transaction on db (BEGIN IMMEDIATE ... COMMIT); throws NestedTransactionError inside one.
 * The after-commit hooks run once COMMIT returns, unless `defer` is given: it then gets a function that
 * runs them, to call once the commit is durable (the group commit syncs the WAL off the event loop).
 */
export function transaction<T>(db: DatabaseSync, fn: () => T, defer?: (runHooks: () => void) => void): T {
  if (inTransaction(db)) throw new NestedTransactionError()
  const hooks: Hooks = { commit: [], rollback: [] }
  open.set(db, hooks)
  let result: T
  try {
    prepared(db, 'BEGIN IMMEDIATE').run()
    result = fn()
    prepared(db, 'COMMIT').run()
  } catch (err) {
    // SQLite rolls back by itself on some errors (SQLITE_FULL, SQLITE_IOERR, ...): a ROLLBACK then would
    // throw "no transaction is active" and hide the error that matters
    if (db.isTransaction) {
      try {
        db.exec('ROLLBACK')
      } catch {}
    }
    open.delete(db)
    run(hooks.rollback)
    throw err
  } finally {
    open.delete(db)
  }
  if (defer != null) defer(() => run(hooks.commit))
  else run(hooks.commit)
  return result
}

/**
 * Runs fn in a savepoint of the open transaction. If it throws, its writes are undone alone, and so are
 * its hooks: the after-commit hooks it queued are dropped and its after-rollback hooks run now (what it
 * prepared for a commit, such as a waiting poll's share of its events, must not outlive its rows).
 */
export function savepoint<T>(db: DatabaseSync, fn: () => T): T {
  const hooks = open.get(db)
  if (hooks == null) throw new Error('savepoint() needs a transaction opened by transaction()')
  const commits = hooks.commit.length
  const rollbacks = hooks.rollback.length
  // prepared once: a group commit runs two of these per piece of work, and parsing costs as much as running
  prepared(db, 'SAVEPOINT work').run()
  try {
    const result = fn()
    prepared(db, 'RELEASE work').run()
    return result
  } catch (err) {
    // a failure SQLite already rolled back as a whole (disk full) ends the transaction: rethrow
    if (!db.isTransaction) throw err
    prepared(db, 'ROLLBACK TO work').run()
    prepared(db, 'RELEASE work').run()
    hooks.commit.length = commits
    run(hooks.rollback.splice(rollbacks))
    throw err
  }
}

function run(hooks: Array<() => void>): void {
  for (const hook of hooks) {
    try {
      hook()
    } catch (err) {
      hookFailed(err)
    }
  }
}

/**
 * Runs fn once the transaction open on db has committed (never if it rolls back). Outside a transaction
 * a statement commits by itself as it runs, so fn runs at once.
 */
export function afterCommit(db: DatabaseSync, fn: () => void): void {
  const hooks = open.get(db)
  if (hooks != null) {
    hooks.commit.push(fn)
    return
  }
  if (db.isTransaction) throw new Error('afterCommit inside a transaction not opened by transaction()')
  fn()
}

/** A token for the transaction open on db (the same object until it ends), or undefined outside one. */
export function currentTransaction(db: DatabaseSync): object | undefined {
  return open.get(db)
}

/** Runs fn if the transaction open on db rolls back (to undo what was prepared for its commit). */
export function afterRollback(db: DatabaseSync, fn: () => void): void {
  open.get(db)?.rollback.push(fn)
}
