// Checkpoints copy the WAL's pages into the database file and fsync both: milliseconds of blocking I/O.
// SQLite runs them inside a commit once the WAL passes wal_autocheckpoint pages, that is on the event
// loop, in the middle of some task's delivery. Here a worker thread with its own connection runs them
// (PASSIVE: writers carry on meanwhile), every CHECKPOINT_EVERY group commits; the thread starts on
// demand and ends after IDLE_MS without work, so an idle node holds no extra thread. The main
// connection keeps a far higher auto-checkpoint as a safety net should the worker fail.
import type { DatabaseSync } from 'node:sqlite'
import { Worker } from 'node:worker_threads'

/** Group commits between two checkpoint requests. */
const CHECKPOINT_EVERY = 64
/** The worker ends after this long without a request (ms). */
const IDLE_MS = 30_000
/** The main connection's own auto-checkpoint while the worker runs them (pages; SQLite's default is 1000). */
const FALLBACK_PAGES = 20_000

// CommonJS, run with eval: no file to find next to the compiled module (tests run the sources)
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
process.emitWarning = () => {}
const { DatabaseSync } = require('node:sqlite')
const db = new DatabaseSync(workerData.path)
db.exec('PRAGMA busy_timeout=5000')
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)')
parentPort.on('message', (m) => {
  if (m === 'close') { db.close(); parentPort.close(); return }
  try {
    const r = checkpoint.get()
    parentPort.postMessage({ ok: true, frames: Number(r.log), copied: Number(r.checkpointed) })
  } catch (err) {
    parentPort.postMessage({ ok: false, message: String(err && err.message) })
  }
})
`

export interface CheckpointerInit {
  /** the database file */
  path: string
  /** a checkpoint failed or the worker could not run (SQLite's own checkpoints then take over) */
  onError?: (message: string) => void
}

export class Checkpointer {
  private readonly db: DatabaseSync
  private readonly init: CheckpointerInit
  private worker?: Worker
  private running = false
  private commits = 0
  private idleTimer?: ReturnType<typeof setTimeout>
  private failed = false
  private closed = false
  /** checkpoints run, and frames they copied (for tests and benchmarks) */
  readonly stats = { checkpoints: 0, copied: 0 }

  constructor(db: DatabaseSync, init: CheckpointerInit) {
    this.db = db
    this.init = init
    db.exec(`PRAGMA wal_autocheckpoint=${FALLBACK_PAGES}`)
  }

  /** A group commit is done: every CHECKPOINT_EVERY of them, the worker checkpoints. */
  committed(): void {
    if (this.failed || this.closed || ++this.commits < CHECKPOINT_EVERY || this.running) return
    this.commits = 0
    this.request()
  }

  /** Runs one checkpoint now (tests; a stop waits for it). Resolves when it is done. */
  checkpoint(): Promise<void> {
    if (this.failed || this.closed) return Promise.resolve()
    this.request()
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  private readonly waiters: Array<() => void> = []

  private request(): void {
    clearTimeout(this.idleTimer)
    if (this.running) return
    const worker = this.start()
    if (worker == null) return
    this.running = true
    worker.postMessage('checkpoint')
  }

  private start(): Worker | undefined {
    if (this.worker != null) return this.worker
    try {
      const worker = new Worker(WORKER, { eval: true, workerData: { path: this.init.path } })
      worker.unref()
      worker.on('message', (m: { ok: boolean; frames?: number; copied?: number; message?: string }) => {
        this.running = false
        if (m.ok) {
          this.stats.checkpoints++
          this.stats.copied += m.copied ?? 0
        } else this.init.onError?.(`checkpoint failed: ${m.message}`)
        for (const w of this.waiters.splice(0)) w()
        this.idleTimer = setTimeout(() => this.stop(), IDLE_MS)
        this.idleTimer.unref()
      })
      worker.on('error', (err) => this.fail(`the checkpoint thread failed: ${err.message}`))
      worker.on('exit', () => {
        if (this.worker === worker) this.worker = undefined
        this.running = false
        for (const w of this.waiters.splice(0)) w()
      })
      this.worker = worker
      return worker
    } catch (err) {
      this.fail(`the checkpoint thread could not start: ${(err as Error).message}`)
      return undefined
    }
  }

  /** The worker cannot checkpoint: SQLite's own checkpoints, at its default size, take over. */
  private fail(message: string): void {
    this.failed = true
    this.init.onError?.(message)
    try {
      if (this.db.isOpen) this.db.exec('PRAGMA wal_autocheckpoint=1000')
    } catch {}
    void this.stop()
  }

  private async stop(): Promise<void> {
    clearTimeout(this.idleTimer)
    const worker = this.worker
    this.worker = undefined
    if (worker == null) return
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
    // a checkpoint in progress finishes first: the worker reads 'close' after it
    worker.postMessage('close')
    await exited
  }

  /** Ends the worker (after a checkpoint in progress); the database may close after this resolves. */
  async close(): Promise<void> {
    this.closed = true
    await this.stop()
  }
}
