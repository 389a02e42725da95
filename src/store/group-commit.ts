// Group commit: work queued while the event loop is busy (or while a batch commits) runs together in
// the next transaction, so one fsync covers many tasks. Each piece of work runs in its own savepoint
// (one that throws is undone alone) and its promise settles only after the COMMIT that holds it: no
// caller acknowledges, answers or hands out anything before it is on disk.
//
// node:sqlite is synchronous, so a commit blocks the event loop; a batch is bounded by count and by
// time, and the rest goes to the next batch after other I/O has had its turn.
import type { DatabaseSync } from 'node:sqlite'
import { transaction } from './transaction.js'

export interface GroupCommitInit {
  /** most pieces of work in one transaction */
  maxBatch?: number
  /** stop adding work to a batch after this long inside it (ms) */
  maxBatchMs?: number
}

/** A commit that ended less than this long ago (ms) means the node is busy. */
const BUSY_MS = 2

interface Work {
  fn: () => unknown
  resolve: (value: unknown) => void
  reject: (err: unknown) => void
}

export class GroupCommit {
  private readonly db: DatabaseSync
  private readonly maxBatch: number
  private readonly maxBatchMs: number
  private queue: Work[] = []
  private scheduled = false
  private lastCommitAt = Number.NEGATIVE_INFINITY
  /** transactions committed, and pieces of work they held (for benchmarks and tests) */
  readonly stats = { commits: 0, work: 0 }

  constructor(db: DatabaseSync, init: GroupCommitInit = {}) {
    this.db = db
    this.maxBatch = init.maxBatch ?? 512
    this.maxBatchMs = init.maxBatchMs ?? 8
  }

  /** Runs fn inside the next group transaction; resolves with its result once that has committed. */
  run<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject })
      this.schedule()
    })
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    const run = () => {
      this.scheduled = false
      this.flush()
    }
    // Idle: commit after the I/O callbacks of this turn (what arrives together commits together).
    // Busy (a commit ended moments ago): linger for a timer tick, so the work that arrives while the
    // last commit's answers go out joins this one; batches then grow with the load.
    if (performance.now() - this.lastCommitAt < BUSY_MS) setTimeout(run, 0)
    else setImmediate(run)
  }

  /** Commits what is queued now (bounded); what comes later, even from inside it, waits for the next. */
  private flush(): void {
    if (this.queue.length === 0) return
    const started = performance.now()
    const batch = this.queue.splice(0, this.maxBatch)
    const outcomes: Array<{ ok: boolean; value: unknown }> = []
    try {
      transaction(this.db, () => {
        for (const work of batch) {
          // over its time: the rest goes back to the front of the queue, for the next batch
          if (outcomes.length > 0 && performance.now() - started > this.maxBatchMs) {
            this.queue.unshift(...batch.splice(outcomes.length))
            break
          }
          this.db.exec('SAVEPOINT work')
          try {
            outcomes.push({ ok: true, value: work.fn() })
            this.db.exec('RELEASE work')
          } catch (err) {
            // undo this piece alone; a failure SQLite already rolled back (disk full) ends the batch
            if (!this.db.isTransaction) throw err
            this.db.exec('ROLLBACK TO work')
            this.db.exec('RELEASE work')
            outcomes.push({ ok: false, value: err })
          }
        }
      })
    } catch (err) {
      // the commit failed: none of the batch is stored
      for (const work of batch) work.reject(err)
      if (this.queue.length > 0) this.schedule()
      return
    }
    this.lastCommitAt = performance.now()
    this.stats.commits++
    this.stats.work += batch.length
    for (const [i, work] of batch.entries()) {
      const o = outcomes[i]!
      if (o.ok) work.resolve(o.value)
      else work.reject(o.value)
    }
    if (this.queue.length > 0) this.schedule()
  }
}
