// Group commit: work queued while the event loop is busy (or while a batch commits) runs together in
// the next transaction, so one fsync covers many tasks. Each piece of work runs in its own savepoint
// (one that throws is undone alone) and its promise settles only once the COMMIT that holds it is on
// disk: no caller acknowledges, answers or hands out anything before that.
//
// node:sqlite is synchronous, so a commit blocks the event loop. With the WAL's path given, the fsync
// leaves the loop: the batch commits with synchronous=NORMAL (the WAL frames are written, not synced:
// a process crash keeps them, the OS has them) and the WAL is then fdatasync'd on libuv's thread pool;
// the batch settles, and its after-commit hooks run, when that sync returns. Batches committed while a
// sync is running share the next one. A batch is also bounded by count and by time.
import { closeSync, fdatasync, openSync } from 'node:fs'
import type { DatabaseSync } from 'node:sqlite'
import { prepared } from './statements.js'
import { savepoint, transaction } from './transaction.js'

export interface GroupCommitInit {
  /** most pieces of work in one transaction */
  maxBatch?: number
  /** stop adding work to a batch after this long inside it (ms) */
  maxBatchMs?: number
  /**
   * The database's WAL file. Given, commits skip SQLite's inline fsync and this file is synced off the
   * event loop before the batch settles; without it (or if it cannot be opened), each commit fsyncs
   * inline (synchronous=FULL).
   */
  wal?: string
  /** called after each commit (the checkpointer counts them) */
  committed?: () => void
  /** how the WAL is synced (tests inject failures); fdatasync by default */
  sync?: (fd: number, done: (err: Error | null) => void) => void
}

/** The WAL could not be synced: the batch is committed but not known to be on disk. */
export class WalSyncError extends Error {
  static override readonly name = 'WalSyncError'
  override name = 'WalSyncError'
  constructor(cause: Error) {
    super(`syncing the store's WAL to disk failed: ${cause.message}`, { cause })
  }
}

/** A commit that ended less than this long ago (ms) means the node is busy. */
const BUSY_MS = 2

interface Work {
  fn: () => unknown
  /** WAL syncs done when it was queued (to count how many it waited for) */
  syncsAt: number
  resolve: (value: unknown) => void
  reject: (err: unknown) => void
}

export class GroupCommit {
  private readonly db: DatabaseSync
  private readonly maxBatch: number
  private readonly maxBatchMs: number
  private readonly sync: NonNullable<GroupCommitInit['sync']>
  private readonly committed: () => void
  private queue: Work[] = []
  private scheduled = false
  private lastCommitAt = Number.NEGATIVE_INFINITY
  /** the size of the last batch: a lone piece of work means the node is not under load */
  private lastBatch = 0
  private walFd?: number
  /** committed batches waiting for the next WAL sync (their settle functions) */
  private unsynced: Array<(err?: Error) => void> = []
  private syncing = false
  private closing = false
  /**
   * Transactions committed, pieces of work they held, WAL syncs, and the WAL syncs the settled pieces
   * of work waited for, summed (1 each when a piece finds no sync running, 2 when it arrives during
   * one): for benchmarks (status JSON) and tests.
   */
  readonly stats = { commits: 0, work: 0, syncs: 0, syncWaits: 0 }

  constructor(db: DatabaseSync, init: GroupCommitInit = {}) {
    this.db = db
    this.maxBatch = init.maxBatch ?? 512
    this.maxBatchMs = init.maxBatchMs ?? 8
    this.sync = init.sync ?? fdatasync
    this.committed = init.committed ?? (() => {})
    if (init.wal != null) {
      try {
        // only ever synced, never written: SQLite owns the file (it takes no locks on it)
        this.walFd = openSync(init.wal, 'r')
      } catch {
        this.walFd = undefined
      }
    }
  }

  /** Whether commits sync the WAL off the event loop (false: inline fsync at each commit). */
  get offLoopSync(): boolean {
    return this.walFd != null
  }

  /** Runs fn inside the next group transaction; resolves with its result once that is on disk. */
  run<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, syncsAt: this.stats.syncs, resolve: resolve as (v: unknown) => void, reject })
      this.schedule()
    })
  }

  /**
   * Commits fn now, in a transaction of its own on the event loop, without waiting for an fsync: for a
   * small write whose loss in a power cut would only repeat something (a poll's hand-out confirmed),
   * and which must not wait for the next batch. A process crash cannot undo it once this returns; the
   * next sync makes it durable. Inside a transaction (or without the WAL path), it commits as usual.
   */
  commitNow<T>(fn: () => T): T {
    const fast = this.walFd != null && !this.db.isTransaction
    if (fast) prepared(this.db, 'PRAGMA synchronous=NORMAL').run()
    try {
      return transaction(this.db, fn)
    } finally {
      if (fast) prepared(this.db, 'PRAGMA synchronous=FULL').run()
    }
  }

  /** Closes the WAL's descriptor once the syncs in flight are done. */
  close(): void {
    this.closing = true
    if (!this.syncing) this.closeWal()
  }

  private closeWal(): void {
    if (this.walFd != null) closeSync(this.walFd)
    this.walFd = undefined
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    const run = () => {
      this.scheduled = false
      this.flush()
    }
    // Commit after the I/O callbacks of this turn (what arrives together commits together). With the
    // fsync inline, under load (the last batch held several pieces and ended moments ago) linger for a
    // timer tick, so work that arrives while the last batch's answers go out shares its fsync. With the
    // WAL synced off the loop no linger is needed: a commit is cheap, and every batch committed while a
    // sync runs shares the next sync anyway.
    const linger = this.walFd == null && this.lastBatch > 1 && performance.now() - this.lastCommitAt < BUSY_MS
    if (linger) setTimeout(run, 0)
    else setImmediate(run)
  }

  /** Commits what is queued now (bounded); what comes later, even from inside it, waits for the next. */
  private flush(): void {
    if (this.queue.length === 0) return
    const started = performance.now()
    const batch = this.queue.splice(0, this.maxBatch)
    const outcomes: Array<{ ok: boolean; value: unknown }> = []
    const offLoop = this.walFd != null
    let runHooks: () => void = () => {}
    try {
      if (offLoop) prepared(this.db, 'PRAGMA synchronous=NORMAL').run()
      transaction(
        this.db,
        () => {
          for (const work of batch) {
            // over its time: the rest goes back to the front of the queue, for the next batch
            if (outcomes.length > 0 && performance.now() - started > this.maxBatchMs) {
              this.queue.unshift(...batch.splice(outcomes.length))
              break
            }
            try {
              outcomes.push({ ok: true, value: savepoint(this.db, work.fn) })
            } catch (err) {
              // a failure SQLite rolled back as a whole (disk full) ends the batch
              if (!this.db.isTransaction) throw err
              outcomes.push({ ok: false, value: err })
            }
          }
        },
        (hooks) => {
          runHooks = hooks
        },
      )
    } catch (err) {
      // the commit failed: none of the batch is stored
      for (const work of batch) work.reject(err)
      if (this.queue.length > 0) this.schedule()
      return
    } finally {
      if (offLoop) prepared(this.db, 'PRAGMA synchronous=FULL').run()
    }
    this.lastCommitAt = performance.now()
    this.lastBatch = batch.length
    this.stats.commits++
    this.stats.work += batch.length
    this.committed()
    const settle = (syncFailed?: Error) => {
      // the hooks run even when the sync failed: the rows are committed, and what the node holds in
      // memory must match them; only the callers learn that it may not be on disk
      runHooks()
      for (const [i, work] of batch.entries()) {
        if (offLoop) this.stats.syncWaits += this.stats.syncs - work.syncsAt
        const o = outcomes[i]!
        if (syncFailed != null) work.reject(syncFailed)
        else if (o.ok) work.resolve(o.value)
        else work.reject(o.value)
      }
    }
    if (offLoop) {
      this.unsynced.push(settle)
      if (!this.syncing) this.startSync()
    } else settle()
    if (this.queue.length > 0) this.schedule()
  }

  /** Syncs the WAL for every batch committed so far; batches committed meanwhile wait for the next. */
  private startSync(): void {
    const waiting = this.unsynced
    this.unsynced = []
    this.syncing = true
    this.sync(this.walFd!, (err) => {
      this.syncing = false
      this.stats.syncs++
      const failed = err == null ? undefined : new WalSyncError(err)
      for (const settle of waiting) settle(failed)
      if (this.unsynced.length > 0) this.startSync()
      else if (this.closing) this.closeWal()
    })
  }
}
