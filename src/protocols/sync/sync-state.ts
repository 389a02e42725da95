// What one store needs for cursor sync: its epoch (and, for a store without its own sequence, a
// counter), and per peer the (epoch, seq) this node got to there.
import { randomBytes } from 'node:crypto'
import type { DatabaseSync, StatementSync } from 'node:sqlite'

// Its tables (sync_sequences, sync_cursors) are the store's (src/store/migrations.ts).

export interface Cursor {
  epoch: string
  seq: number
}

export class SyncState {
  readonly service: string
  private readonly stmt: Record<string, StatementSync>
  private epochId?: string

  /** `start` is the sequence a new epoch starts from (the highest one already given out, if any). */
  constructor(db: DatabaseSync, service: string, start = 0) {
    this.service = service
    db.prepare('INSERT OR IGNORE INTO sync_sequences (service, epoch, seq) VALUES (?, ?, ?)').run(
      service,
      randomBytes(16).toString('hex'),
      start,
    )
    this.stmt = {
      epoch: db.prepare('SELECT epoch FROM sync_sequences WHERE service = ?'),
      head: db.prepare('SELECT seq FROM sync_sequences WHERE service = ?'),
      next: db.prepare('UPDATE sync_sequences SET seq = seq + 1 WHERE service = ? RETURNING seq'),
      get: db.prepare('SELECT epoch, seq FROM sync_cursors WHERE service = ? AND peer = ?'),
      set: db.prepare(`INSERT INTO sync_cursors (service, peer, epoch, seq) VALUES (?, ?, ?, ?)
        ON CONFLICT (service, peer) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq`),
      reset: db.prepare('DELETE FROM sync_cursors WHERE service = ?'),
    }
  }

  /** This store's epoch: its sequence numbers mean something only under it. */
  epoch(): string {
    this.epochId ??= (this.stmt.epoch!.get(this.service) as { epoch: string }).epoch
    return this.epochId
  }

  /** The next sequence number; call in the transaction that stores the item it numbers. */
  next(): number {
    return Number((this.stmt.next!.get(this.service) as { seq: number }).seq)
  }

  /** The highest sequence number given out by next(). */
  head(): number {
    return Number((this.stmt.head!.get(this.service) as { seq: number }).seq)
  }

  cursor(peer: string): Cursor | undefined {
    const r = this.stmt.get!.get(this.service, peer) as { epoch: string; seq: number } | undefined
    return r != null ? { epoch: r.epoch, seq: Number(r.seq) } : undefined
  }

  setCursor(peer: string, c: Cursor): void {
    this.stmt.set!.run(this.service, peer, c.epoch, c.seq)
  }

  /** Forgets every peer's cursor: the next pass with each is a full one. */
  resetCursors(): void {
    this.stmt.reset!.run(this.service)
  }
}
