// The agent's inbox: events (incoming tasks, updates of delegated ones, expiries) in the node's store,
// handed out by `poll` highest priority first, oldest first within a priority. An event is appended
// in the same transaction that stores what caused it, so it exists exactly once.
import type { DatabaseSync } from 'node:sqlite'
import type { EventJson, EventType } from '../api/types.js'
import type { GroupCommit } from '../store/group-commit.js'
import { prepared } from '../store/statements.js'
import { afterCommit, afterRollback, transaction } from '../store/transaction.js'
import { PollClaims } from './poll-claims.js'

/** Seen events are kept this long for `tasks` history, then pruned. */
const KEEP_SEEN = 7 * 24 * 3600 * 1000

export type NewEvent = Omit<EventJson, 'seq'>

const PRIORITY_RANK: Record<string, number> = { low: 0, normal: 1, high: 2, urgent: 3 }

/** `seen` values: 0 unseen; SEEN handed out; HELD taken by a poll whose answer has not gone out yet. */
const SEEN = 1
const HELD = 2

export class Inbox {
  /** polls waiting for events: they take them in the transaction that appends them */
  private readonly claims: PollClaims
  private readonly listeners = new Set<(event: EventJson) => void>()
  /** called inside append, so what they write joins the transaction that stores the event's cause */
  private readonly appendHooks = new Set<(event: NewEvent) => void>()
  /** appended in the open transaction; published once it has committed */
  private appended: EventJson[] = []
  private notifyQueued = false
  /** how many times waiters were woken: a poll whose hand-out was in flight then looks again */
  private wakes = 0
  /** held events a client confirms itself (see lease): each timer hands its batch out again */
  private readonly leases = new Set<ReturnType<typeof setTimeout>>()

  /**
   * `commits`: the node's group commit; with it, a poll's hand-out and the confirmation of what the
   * agent got share a commit (one fsync) with the other writes of the moment.
   */
  constructor(
    private readonly db: DatabaseSync,
    private readonly commits?: GroupCommit,
  ) {
    this.claims = new PollClaims(db)
    // its tables are the store's (src/store/migrations.ts)
    // held by a poll whose answer never went out (the node stopped first): hand them out again
    prepared(db, 'UPDATE events SET seen = 0 WHERE seen = ?').run(HELD)
  }

  /** Appends an event; call inside the transaction that stores its cause. Waiters wake after it commits. */
  append(event: NewEvent): void {
    // a poll waiting for it takes it here: handed out in this very commit (written held, until its
    // answer is sent)
    const claim = this.claims.taker(event)
    const { lastInsertRowid } = prepared(
      this.db,
      'INSERT INTO events (type, priority, payload, created_at, seen) VALUES (?, ?, ?, ?, ?)',
    ).run(
      event.type,
      PRIORITY_RANK[event.priority] ?? 1,
      JSON.stringify(event),
      Date.parse(event.timestamp),
      claim == null ? 0 : HELD,
    )
    const seq = Number(lastInsertRowid)
    if (claim != null) this.claims.give(claim, { seq, ...event })
    for (const hook of this.appendHooks) hook(event)
    if (this.listeners.size > 0) this.appended.push({ seq, ...event })
    if (this.notifyQueued) return
    this.notifyQueued = true
    // one wake-up per transaction, and only if it commits: a rolled-back event is never published
    afterRollback(this.db, () => {
      this.notifyQueued = false
      this.appended = []
    })
    try {
      afterCommit(this.db, () => this.publish())
    } catch (err) {
      this.notifyQueued = false
      throw err
    }
  }

  private wakeAll(): void {
    this.wakes++
    this.claims.wake()
  }

  private publish(): void {
    this.notifyQueued = false
    const appended = this.appended
    this.appended = []
    this.wakeAll()
    for (const event of appended) for (const fn of this.listeners) fn(event)
  }

  /** Calls `fn` synchronously inside every append (the v1 API fans broadcasts out to its agents). */
  onAppend(fn: (event: NewEvent) => void): () => void {
    this.appendHooks.add(fn)
    return () => this.appendHooks.delete(fn)
  }

  /**
   * Calls `fn` with every event appended from now on, once its transaction has committed (an event
   * whose transaction rolled back is never published). Watchers observe; they do not mark events seen.
   */
  subscribe(fn: (event: EventJson) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  /** Events after `seq` in log order, seen or not (a watcher catching up after a reconnect). */
  since(seq: number, limit: number, types?: EventType[]): EventJson[] {
    const typeFilter =
      types != null && types.length > 0 ? `AND type IN (${types.map(() => '?').join(',')})` : ''
    const rows = prepared(
      this.db,
      `SELECT seq, payload FROM events WHERE seq > ? ${typeFilter} ORDER BY seq LIMIT ?`,
    ).all(seq, ...(types ?? []), limit) as Array<{ seq: number; payload: string }>
    return rows.map((r) => ({ seq: Number(r.seq), ...(JSON.parse(r.payload) as NewEvent) }))
  }

  /** The newest event's seq (0 for none). */
  lastSeq(): number {
    const row = prepared(this.db, 'SELECT max(seq) AS s FROM events').get() as { s: number | null }
    return Number(row.s ?? 0)
  }

  /** Polls waiting for events now. */
  get waitingPolls(): number {
    return this.claims.size
  }

  unseenCount(): number {
    return Number(
      (prepared(this.db, 'SELECT count(*) AS n FROM events WHERE seen = 0').get() as { n: number }).n,
    )
  }

  /**
   * Unseen events, most urgent first, oldest first within a priority; marks them seen unless `peek`.
   * With `hold`, they are only held: `confirm` marks them seen once the agent has them, `release`
   * makes them unseen again (the answer never reached it), and a restart releases what is still held.
   */
  take(limit: number, peek: boolean, types?: EventType[], hold = false): EventJson[] {
    return this.select(limit, peek, types, hold, (seqs, to) => this.mark(seqs, to))
  }

  /** As take, in the next group commit (settles after it); without one, as take. */
  private async handOut(
    limit: number,
    peek: boolean,
    types?: EventType[],
    hold = false,
  ): Promise<EventJson[]> {
    if (this.commits == null || peek) return this.take(limit, peek, types, hold)
    // nothing unseen: no commit (and no wait for a sync) just to find that out; the poll then waits,
    // and takes what comes in the commit that appends it
    if (this.select(1, true, types, false, () => {}).length === 0) return []
    // selected and marked in one piece of work: two pollers never get the same event
    return this.commits.run(() =>
      this.select(limit, peek, types, hold, (seqs, to) => this.markRows(seqs, to)),
    )
  }

  private select(
    limit: number,
    peek: boolean,
    types: EventType[] | undefined,
    hold: boolean,
    mark: (seqs: number[], to: number) => void,
  ): EventJson[] {
    const typeFilter =
      types != null && types.length > 0 ? `AND type IN (${types.map(() => '?').join(',')})` : ''
    const rows = prepared(
      this.db,
      `SELECT seq, payload FROM events WHERE seen = 0 ${typeFilter} ORDER BY priority DESC, seq LIMIT ?`,
    ).all(...(types ?? []), limit) as Array<{ seq: number; payload: string }>
    const events = rows.map((r) => ({ seq: Number(r.seq), ...(JSON.parse(r.payload) as NewEvent) }))
    if (!peek && events.length > 0) {
      mark(
        events.map((e) => e.seq),
        hold ? HELD : SEEN,
      )
    }
    return events
  }

  /** The agent has these held events: they are seen for good (in the next group commit, if any). */
  confirm(seqs: number[]): void {
    if (this.commits == null) {
      this.mark(seqs, SEEN, HELD)
      return
    }
    // at once, not in the next batch: until this commits, a crash of the node repeats what the agent
    // already has (held events go back out at the next start); no fsync waited for: a power cut only
    // repeats them too
    try {
      this.commits.commitNow(() => this.markRows(seqs, SEEN, HELD))
    } catch {
      // still held: the next start hands them out again
    }
  }

  /** These held events did not reach the agent: the next poll hands them out again. */
  release(seqs: number[]): void {
    this.mark(seqs, 0, HELD)
    if (seqs.length > 0) this.wakeAll()
  }

  /**
   * These held events went out to a client that confirms what it got itself (`confirm`, or `release`):
   * what it has not confirmed within `ms` is handed out again. An answer that left the node can still
   * be lost before the agent reads it (its MCP call cancelled, its CLI killed), and only the client
   * knows that.
   */
  lease(seqs: number[], ms: number): void {
    if (seqs.length === 0) return
    const timer = setTimeout(() => {
      this.leases.delete(timer)
      try {
        this.release(seqs)
      } catch {
        // the store has closed: the next start hands out what is still held
      }
    }, ms)
    timer.unref?.()
    this.leases.add(timer)
  }

  /** Ends the leases' timers (the node is stopping; a restart releases what is still held). */
  close(): void {
    for (const timer of this.leases) clearTimeout(timer)
    this.leases.clear()
  }

  private mark(seqs: number[], to: number, from?: number): void {
    if (seqs.length === 0) return
    transaction(this.db, () => this.markRows(seqs, to, from))
  }

  /** Marks events inside the caller's transaction. */
  private markRows(seqs: number[], to: number, from?: number): void {
    const mark = prepared(
      this.db,
      from == null
        ? 'UPDATE events SET seen = ? WHERE seq = ?'
        : 'UPDATE events SET seen = ? WHERE seq = ? AND seen = ?',
    )
    for (const seq of seqs) {
      if (from == null) mark.run(to, seq)
      else mark.run(to, seq, from)
    }
  }

  /**
   * Like take, but waits up to `waitMs` for the first event (no polling loop): a waiting poll takes the
   * events appended for it in the transaction that appends them, and is answered once that is on disk.
   */
  async poll(opts: {
    limit: number
    peek: boolean
    waitMs: number
    signal?: AbortSignal
    types?: EventType[]
    /** hold the events rather than mark them seen (see take) */
    hold?: boolean
  }): Promise<EventJson[]> {
    const deadline = Date.now() + opts.waitMs
    const gone = () => opts.signal?.aborted === true
    for (;;) {
      // a poller that has gone away takes nothing: what it would get could not reach it
      if (gone()) return []
      const wakes = this.wakes
      const events = await this.handOut(opts.limit, opts.peek, opts.types, opts.hold)
      const left = deadline - Date.now()
      if (events.length > 0 || left <= 0 || gone()) return events
      // something arrived while the hand-out waited for its commit: look again rather than sleep
      if (this.wakes !== wakes) continue
      const outcome = await this.claims.wait({ ...opts, ms: left })
      if (!('events' in outcome)) continue
      // taken as held; the caller left meanwhile: the next poll gets them
      const seqs = outcome.events.map((e) => e.seq)
      if (gone()) {
        this.release(seqs)
        return []
      }
      if (opts.hold !== true) this.confirm(seqs)
      return outcome.events
    }
  }

  prune(now = Date.now()): void {
    prepared(this.db, 'DELETE FROM events WHERE seen = 1 AND created_at < ?').run(now - KEEP_SEEN)
  }
}
