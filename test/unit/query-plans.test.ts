// Every query the stores prepare must search an index (or the rowid), never read a whole table: the
// hot paths run per message, and a full scan there grows with every message ever seen. The queries are
// captured as the stores prepare them, so a new one is checked without being listed here.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { DatabaseSync } from 'node:sqlite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Inbox } from '../../src/core/inbox.js'
import { FileStore } from '../../src/protocols/files/file-store.js'
import { KnowledgeStore } from '../../src/protocols/knowledge/knowledge-store.js'
import { TaskStore } from '../../src/protocols/tasks/task-store.js'
import { Store } from '../../src/store/database.js'
import { V1Store } from '../../src/v1/store.js'

/** Queries allowed to read a whole table, and why that is not on a hot path. */
const COLD: Array<{ sql: RegExp; why: string }> = [
  {
    sql: /FROM file_entries WHERE deleted = 0 AND size <= \? ORDER BY received_at/,
    why: 'eager fetch list, at start and after sync',
  },
  { sql: /^DELETE FROM file_entries_pruned WHERE at < \?/, why: 'hourly housekeeping of a small table' },
  { sql: /^SELECT \* FROM peers ORDER BY last_seen/, why: 'read once at start' },
  { sql: /^DELETE FROM peers WHERE last_seen < \?/, why: 'hourly housekeeping of a small table' },
  { sql: /FROM v1_agents/, why: 'at most a few hundred hosted agents' },
  { sql: /FROM sqlite_sequence WHERE name = /, why: 'SQLite keeps one row per AUTOINCREMENT table there' },
  {
    sql: /^SELECT coalesce\(sum\(n\), 0\) AS n FROM open_received$/,
    why: 'one row per peer that gave us tasks',
  },
]

let dir: string
let store: Store
const captured = new Set<string>()

/** db with prepare() recording every SQL text. */
function recording(db: DatabaseSync): DatabaseSync {
  return new Proxy(db, {
    get(target, key) {
      if (key === 'prepare')
        return (sql: string) => {
          captured.add(sql.replace(/\s+/g, ' ').trim())
          return target.prepare(sql)
        }
      const value = Reflect.get(target, key, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawlink-plans-'))
  store = new Store(join(dir, 'store.db'))
  const db = recording(store.db)
  const wrapped = Object.create(store) as Store
  Object.defineProperty(wrapped, 'db', { value: db })
  const tasks = new TaskStore({ db, onEvent: () => {} })
  const row = tasks.delegate({
    peer: 'p',
    peerName: 'p',
    task: 't',
    context: null,
    priority: 'normal',
    ttl: 60_000,
  })
  const [msg] = tasks.due(10)
  tasks.nextDue()
  tasks.kick('p')
  tasks.stmt.olderOfTask!.all('p', row.id, msg!.msgId)
  tasks.retryLater(msg!, Date.now(), 'x')
  tasks.acked(msg!)
  tasks.expire()
  tasks.list({ open: true })
  tasks.list()
  tasks.find(row.id)
  tasks.history(row)
  tasks.outboxSize()
  tasks.openCount()
  tasks.cancel(row, null)
  const inbox = new Inbox(db)
  inbox.take(10, false)
  inbox.take(10, false, ['task'], true)
  inbox.since(0, 10)
  inbox.since(0, 10, ['task', 'broadcast'])
  inbox.unseenCount()
  inbox.lastSeq()
  inbox.confirm([1])
  inbox.release([1])
  inbox.prune()
  const k = new KnowledgeStore(db)
  k.list()
  k.list({ topic: 'x', since: 1, author: 'a', tag: 't' })
  k.list({ author: 'a' })
  k.idsSince(0, '', 10)
  k.prune(10, 1000)
  const f = new FileStore(db)
  f.list('notes/')
  f.ids(0, 10)
  f.forgetPruned(0)
  const v1 = new V1Store(db)
  v1.take('a', 10)
  v1.queued('a')
  for (const sql of [
    'SELECT * FROM peers ORDER BY last_seen DESC',
    'DELETE FROM peers WHERE last_seen < ?',
    'SELECT value FROM meta WHERE key = ?',
  ])
    captured.add(sql)
})

afterAll(() => {
  store.close()
  rmSync(dir, { recursive: true, force: true })
})

/** The plan's steps that read a whole table. */
function fullScans(sql: string): string[] {
  const plan = store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>
  return plan
    .map((p) => p.detail)
    .filter(
      (d) =>
        /^SCAN /.test(d) &&
        !/USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY|VIRTUAL TABLE|CONSTANT ROW/.test(d),
    )
}

describe('query plans', () => {
  it("captured the stores' queries", () => {
    expect(captured.size).toBeGreaterThan(60)
    for (const hot of [
      'DELETE FROM seen_messages WHERE at < ?',
      'SELECT * FROM outbox WHERE expires_at <= ?',
      'SELECT 1 FROM seen_messages WHERE peer = ? AND msg_id = ?',
    ])
      expect(captured).toContain(hot)
  })

  it('no query reads a whole table, except the listed cold ones', () => {
    const offenders: string[] = []
    const usedCold = new Set<(typeof COLD)[number]>()
    for (const sql of captured) {
      if (/^(PRAGMA|BEGIN|COMMIT|ROLLBACK)/.test(sql)) continue
      const scans = fullScans(sql)
      if (scans.length === 0) continue
      const cold = COLD.find((c) => c.sql.test(sql))
      if (cold == null) offenders.push(`${sql}\n    -> ${scans.join('; ')}`)
      else usedCold.add(cold)
    }
    expect(offenders).toEqual([])
    // an entry no query needs any more is taken off the list
    expect(COLD.filter((c) => !usedCold.has(c)).map((c) => c.why)).toEqual([])
  })

  it('the check catches a full scan', () => {
    expect(fullScans('SELECT * FROM seen_messages WHERE at < ?')).toEqual([])
    expect(fullScans('SELECT * FROM outbox WHERE last_error = ?')).toEqual(['SCAN outbox'])
    // what the retention query did before seen_messages had an index on `at`
    expect(fullScans('SELECT * FROM seen_messages NOT INDEXED WHERE at < ?')).toEqual(['SCAN seen_messages'])
  })
})
