// Broadcasts this node holds, deduplicated by id and bounded by count and age.
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { asBytes, text } from '../../store/sql-text.js'
import { SyncState } from '../sync/sync-state.js'
import type { VerifiedBroadcast } from './broadcast.js'
import { Broadcast, BroadcastBody } from './pb/knowledge.js'

export interface StoredBroadcast extends Omit<VerifiedBroadcast, 'raw'> {
  receivedAt: number
}

export interface ListFilter {
  topic?: string
  tag?: string
  author?: string
  since?: number
  limit?: number
}

/** The highest sequence number given to a broadcast: a new sync epoch counts on from there. */
function highestSeq(db: DatabaseSync): number {
  return Number((db.prepare('SELECT coalesce(max(seq), 0) AS n FROM broadcasts').get() as { n: number }).n)
}

const SENT_KEY = 'knowledge.published_seq'

type Row = Record<string, string | number | Uint8Array | null>

/** The signed hosted sender, read back from the stored bytes (it has no column of its own). */
function hostedSender(raw: unknown): string | undefined {
  if (!(raw instanceof Uint8Array)) return undefined
  try {
    return BroadcastBody.decode(Broadcast.decode(raw).body).fromHostedAgent
  } catch {
    return undefined
  }
}

function toStored(r: Row): StoredBroadcast {
  const fromHostedAgent = hostedSender(r.raw)
  return {
    ...(fromHostedAgent != null ? { fromHostedAgent } : {}),
    id: r.id as string,
    author: r.author as string,
    topic: r.topic as string,
    tags: JSON.parse(r.tags as string) as string[],
    content: text(r.content),
    time: Number(r.time),
    receivedAt: Number(r.received_at),
  }
}

export class KnowledgeStore {
  private readonly db: DatabaseSync
  private readonly stmt: Record<string, StatementSync>
  /** epoch, sequence counter and per-peer cursors of history sync */
  readonly sync: SyncState

  constructor(db: DatabaseSync) {
    this.db = db
    // its tables are the store's (src/store/migrations.ts)
    this.sync = new SyncState(db, 'knowledge', highestSeq(db))
    this.stmt = {
      insert:
        db.prepare(`INSERT OR IGNORE INTO broadcasts (id, author, topic, tags, content, time, received_at,
        raw, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      changes: db.prepare('SELECT seq, id, time FROM broadcasts WHERE seq > ? ORDER BY seq LIMIT ?'),
      has: db.prepare('SELECT 1 FROM broadcasts WHERE id = ?'),
      raw: db.prepare('SELECT raw FROM broadcasts WHERE id = ?'),
      ids: db.prepare(`SELECT id, time FROM broadcasts WHERE time >= ? AND (time > ? OR (time = ? AND id > ?))
        ORDER BY time, id LIMIT ?`),
      count: db.prepare('SELECT count(*) AS n FROM broadcasts'),
      unsent: db.prepare('SELECT seq, raw FROM broadcasts WHERE seq > ? AND author = ? ORDER BY seq LIMIT 1'),
      unsentCount: db.prepare('SELECT count(*) AS n FROM broadcasts WHERE seq > ? AND author = ?'),
      getSent: db.prepare('SELECT value FROM meta WHERE key = ?'),
      setSent: db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value`),
    }
    // a store from before the publish queue: everything in it was published then
    if (this.stmt.getSent!.get(SENT_KEY) == null) this.stmt.setSent!.run(SENT_KEY, String(highestSeq(db)))
  }

  // ---- the publish queue (publish-queue.ts): own broadcasts stored after the `published` mark ----

  /** The sequence up to which this node's own broadcasts went out on gossip. */
  publishedSeq(): number {
    return Number((this.stmt.getSent!.get(SENT_KEY) as { value: string }).value)
  }

  setPublished(seq: number): void {
    this.stmt.setSent!.run(SENT_KEY, String(seq))
  }

  /** The oldest broadcast by `author` not yet published. */
  nextUnpublished(author: string): { seq: number; raw: Uint8Array } | undefined {
    const r = this.stmt.unsent!.get(this.publishedSeq(), author) as
      | { seq: number; raw: Uint8Array }
      | undefined
    return r == null ? undefined : { seq: Number(r.seq), raw: r.raw }
  }

  countUnpublished(author: string): number {
    return Number((this.stmt.unsentCount!.get(this.publishedSeq(), author) as { n: number }).n)
  }

  /** Stores a verified broadcast; false if it was already here. Call inside a transaction with its event. */
  put(b: VerifiedBroadcast, receivedAt = Date.now()): boolean {
    const r = this.stmt.insert!.run(
      b.id,
      b.author,
      b.topic,
      JSON.stringify(b.tags),
      b.content,
      b.time,
      receivedAt,
      b.raw,
      this.sync.next(),
    )
    return Number(r.changes) > 0
  }

  has(id: string): boolean {
    return this.stmt.has!.get(id) != null
  }

  raw(id: string): Uint8Array | undefined {
    const r = this.stmt.raw!.get(id) as { raw: Uint8Array } | undefined
    return r?.raw
  }

  count(): number {
    return Number((this.stmt.count!.get() as { n: number }).n)
  }

  /** Ids (with times) of broadcasts at or after `since`, after the cursor `time:id`, oldest first. */
  idsSince(since: number, cursor: string, limit: number): Array<{ id: string; time: number }> {
    let afterTime = -1
    let afterId = ''
    const m = /^(\d+):([0-9a-f]*)$/.exec(cursor)
    if (m != null) {
      afterTime = Number(m[1])
      afterId = m[2]!
    }
    const rows = this.stmt.ids!.all(since, afterTime, afterTime, afterId, limit) as Array<{
      id: string
      time: number
    }>
    return rows.map((r) => ({ id: r.id, time: Number(r.time) }))
  }

  /**
   * Ids of broadcasts stored after sequence `after` (at most `limit` rows looked at), leaving out those
   * older than `since`; the sequence the page got to, and whether rows remain.
   */
  changes(after: number, since: number, limit: number): { ids: string[]; cursor: number; more: boolean } {
    const rows = this.stmt.changes!.all(after, limit) as Array<{ seq: number; id: string; time: number }>
    return {
      ids: rows.filter((r) => Number(r.time) >= since).map((r) => r.id),
      cursor: Number(rows.at(-1)?.seq ?? after),
      more: rows.length === limit,
    }
  }

  /** Newest first. */
  list(filter: ListFilter = {}): StoredBroadcast[] {
    const where: string[] = []
    const args: Array<string | number> = []
    if (filter.topic != null) {
      where.push('topic = ?')
      args.push(filter.topic)
    }
    if (filter.author != null) {
      where.push('author = ?')
      args.push(filter.author)
    }
    if (filter.since != null) {
      where.push('time >= ?')
      args.push(filter.since)
    }
    if (filter.tag != null) {
      where.push('EXISTS (SELECT 1 FROM json_each(broadcasts.tags) WHERE value = ?)')
      args.push(filter.tag)
    }
    const sql = `SELECT id, author, topic, tags, ${asBytes('content')}, time, received_at, raw FROM broadcasts ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY time DESC, id DESC LIMIT ?`
    return (this.db.prepare(sql).all(...args, filter.limit ?? 100) as Row[]).map(toStored)
  }

  /** Drops broadcasts older than `maxAge` and all but the newest `maxItems`. */
  prune(maxItems: number, maxAge: number, now = Date.now()): number {
    const old = Number(this.db.prepare('DELETE FROM broadcasts WHERE time < ?').run(now - maxAge).changes)
    const extra = Number(
      this.db
        .prepare(
          `DELETE FROM broadcasts WHERE id IN (SELECT id FROM broadcasts ORDER BY time DESC, id DESC LIMIT -1 OFFSET ?)`,
        )
        .run(maxItems).changes,
    )
    return old + extra
  }
}
