import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Inbox } from '../../src/core/inbox.js'
import { FileStore } from '../../src/protocols/files/file-store.js'
import { KnowledgeStore } from '../../src/protocols/knowledge/knowledge-store.js'
import { TaskStore } from '../../src/protocols/tasks/task-store.js'
import { Store } from '../../src/store/database.js'
import { MIGRATIONS, schemaVersion } from '../../src/store/migrations.js'
import { V1Store } from '../../src/v1/store.js'

const require = createRequire(import.meta.url)
const { DatabaseSync } = require('node:sqlite') as typeof import('node:sqlite')

// The schema a store had before the migration list took every table over: version 1 (peers, meta), and
// the other tables as their owners created them when they opened. `v1Columns` false: a store from before
// the v1 API, whose tasks table lacks from_agent and to_agent.
function todaysStore(path: string, v1Columns: boolean): void {
  const db = new DatabaseSync(path)
  db.exec(`PRAGMA journal_mode=WAL;
    CREATE TABLE peers (id TEXT PRIMARY KEY, name TEXT NOT NULL, card TEXT NOT NULL, addrs TEXT NOT NULL,
      last_seen INTEGER NOT NULL, left_at INTEGER);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    PRAGMA user_version = 1;
    CREATE TABLE tasks (id TEXT NOT NULL, direction TEXT NOT NULL CHECK (direction IN ('sent', 'received')),
      peer TEXT NOT NULL, peer_name TEXT NOT NULL, task TEXT NOT NULL, context TEXT, priority TEXT NOT NULL,
      state TEXT NOT NULL, result TEXT, reason TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL, PRIMARY KEY (direction, peer, id));
    CREATE INDEX tasks_id ON tasks (id);
    CREATE INDEX tasks_state ON tasks (direction, state);
    CREATE TABLE outbox (msg_id TEXT PRIMARY KEY, peer TEXT NOT NULL, kind TEXT NOT NULL, task_id TEXT NOT NULL,
      payload BLOB NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, last_error TEXT);
    CREATE INDEX outbox_due ON outbox (next_at);
    CREATE TABLE seen_messages (peer TEXT NOT NULL, msg_id TEXT NOT NULL, at INTEGER NOT NULL,
      PRIMARY KEY (peer, msg_id));
    CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, priority INTEGER NOT NULL,
      payload TEXT NOT NULL, created_at INTEGER NOT NULL, seen INTEGER NOT NULL DEFAULT 0);
    CREATE INDEX events_unseen ON events (seen, priority DESC, seq);
    CREATE TABLE broadcasts (id TEXT PRIMARY KEY, author TEXT NOT NULL, topic TEXT NOT NULL, tags TEXT NOT NULL,
      content TEXT NOT NULL, time INTEGER NOT NULL, received_at INTEGER NOT NULL, raw BLOB NOT NULL);
    CREATE INDEX broadcasts_time ON broadcasts (time, id);
    CREATE INDEX broadcasts_topic ON broadcasts (topic, time);
    CREATE TABLE file_entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, key TEXT NOT NULL,
      version INTEGER NOT NULL, base INTEGER NOT NULL, author TEXT NOT NULL, time INTEGER NOT NULL,
      size INTEGER NOT NULL, sha256 TEXT NOT NULL, media_type TEXT NOT NULL, deleted INTEGER NOT NULL,
      received_at INTEGER NOT NULL, raw BLOB NOT NULL);
    CREATE INDEX file_entries_key ON file_entries (key, version DESC, author DESC);
    CREATE INDEX file_entries_sha ON file_entries (sha256);
    CREATE TABLE file_entries_pruned (id TEXT PRIMARY KEY, at INTEGER NOT NULL);
    CREATE TABLE v1_agents (agent_id TEXT PRIMARY KEY, name TEXT NOT NULL, capabilities TEXT NOT NULL,
      machine TEXT NOT NULL, description TEXT NOT NULL, registered_at INTEGER NOT NULL,
      last_heartbeat INTEGER NOT NULL);
    CREATE TABLE v1_queue (seq INTEGER PRIMARY KEY AUTOINCREMENT, agent_id TEXT NOT NULL, type TEXT NOT NULL,
      payload TEXT NOT NULL, created_at INTEGER NOT NULL);
    CREATE INDEX v1_queue_agent ON v1_queue (agent_id, seq);
    CREATE TABLE v1_local_tasks (id TEXT PRIMARY KEY, from_agent TEXT NOT NULL, to_agent TEXT NOT NULL,
      state TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);`)
  if (v1Columns)
    db.exec('ALTER TABLE tasks ADD COLUMN from_agent TEXT; ALTER TABLE tasks ADD COLUMN to_agent TEXT')
  const now = Date.now()
  db.prepare('INSERT INTO peers VALUES (?, ?, ?, ?, ?, NULL)').run('peer-b', 'bob', '{}', '[]', now)
  db.prepare('INSERT INTO meta VALUES (?, ?)').run('k', 'v')
  const insertTask = db.prepare(
    `INSERT INTO tasks (id, direction, peer, peer_name, task, context, priority, state, created_at, updated_at, expires_at)
     VALUES (?, ?, 'peer-b', 'bob', ?, NULL, 'normal', ?, ?, ?, ?)`,
  )
  insertTask.run('t-sent', 'sent', 'do a thing', 'submitted', now, now, now + 3_600_000)
  insertTask.run('t-recv', 'received', 'do another', 'delivered', now, now, now + 3_600_000)
  db.prepare(
    `INSERT INTO outbox (msg_id, peer, kind, task_id, payload, created_at, expires_at, next_at)
     VALUES ('t-sent', 'peer-b', 0, 't-sent', x'0801', ?, ?, ?)`,
  ).run(now, now + 3_600_000, now)
  db.prepare('INSERT INTO seen_messages VALUES (?, ?, ?)').run('peer-b', 'm1', now)
  db.prepare('INSERT INTO events (type, priority, payload, created_at) VALUES (?, 1, ?, ?)').run(
    'task',
    JSON.stringify({
      type: 'task',
      id: 't-recv',
      priority: 'normal',
      timestamp: new Date(now).toISOString(),
    }),
    now,
  )
  db.prepare('INSERT INTO broadcasts VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
    'b1',
    'peer-b',
    'news',
    '[]',
    'hello',
    now,
    now,
    new Uint8Array([1]),
  )
  db.prepare(
    `INSERT INTO file_entries (id, key, version, base, author, time, size, sha256, media_type, deleted, received_at, raw)
     VALUES ('e1', 'notes/a.md', 1, 0, 'peer-b', ?, 3, 'aa', 'text/markdown', 0, ?, x'01')`,
  ).run(now, now)
  db.prepare('INSERT INTO v1_agents VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    'alice01',
    'Alice',
    '[]',
    'm',
    'd',
    now,
    now,
  )
  db.prepare('INSERT INTO v1_queue (agent_id, type, payload, created_at) VALUES (?, ?, ?, ?)').run(
    'alice01',
    'task_response',
    JSON.stringify({ type: 'task_response', message_id: 'x' }),
    now,
  )
  db.close()
}

let dir: string
let stores: Store[]
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawlink-migrate-'))
  stores = []
})
afterEach(() => {
  for (const s of stores) s.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('a store of the schema before the migration list', () => {
  for (const v1Columns of [true, false]) {
    it(`keeps every row and is brought to the latest version (${v1Columns ? 'with' : 'before'} the v1 columns)`, () => {
      const path = join(dir, 'store.db')
      todaysStore(path, v1Columns)
      const store = new Store(path)
      stores.push(store)
      expect(schemaVersion(store.db)).toBe(MIGRATIONS.length)
      expect(store.listPeers().map((p) => p.id)).toEqual(['peer-b'])
      expect(store.getMeta('k')).toBe('v')
      const tasks = new TaskStore({ db: store.db, onEvent: () => {} })
      expect(tasks.get('sent', 'peer-b', 't-sent')).toMatchObject({
        task: 'do a thing',
        state: 'submitted',
        fromAgent: null,
      })
      expect(tasks.get('received', 'peer-b', 't-recv')).toMatchObject({
        task: 'do another',
        state: 'delivered',
      })
      expect(tasks.due(10).map((m) => m.msgId)).toEqual(['t-sent'])
      expect(tasks.openCount()).toBe(1)
      // a new task carries the v1 agent ids in the columns added for it
      const row = tasks.delegate({
        peer: 'peer-b',
        peerName: 'bob',
        task: 'new',
        context: null,
        priority: 'normal',
        ttl: 60_000,
        fromAgent: 'alice01',
        toAgent: 'bob01',
      })
      expect(row).toMatchObject({ fromAgent: 'alice01', toAgent: 'bob01' })
      const inbox = new Inbox(store.db)
      expect(inbox.take(10, true).map((e) => e.id)).toEqual(['t-recv'])
      expect(new KnowledgeStore(store.db).list().map((b) => b.id)).toEqual(['b1'])
      expect(new FileStore(store.db).history('notes/a.md').map((e) => e.id)).toEqual(['e1'])
      const v1 = new V1Store(store.db)
      expect(v1.get('alice01')?.name).toBe('Alice')
      expect(v1.take('alice01', 10)).toMatchObject([{ type: 'task_response', message_id: 'x' }])
      // opening again runs nothing more and changes nothing
      store.close()
      const again = new Store(path)
      stores.push(again)
      expect(schemaVersion(again.db)).toBe(MIGRATIONS.length)
      expect(again.db.prepare('SELECT count(*) AS n FROM tasks').get()).toEqual({ n: 3 })
    })
  }

  it('a new store gets every table from the list', () => {
    const store = new Store(join(dir, 'new.db'))
    stores.push(store)
    const tables = (
      store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{
        name: string
      }>
    ).map((r) => r.name)
    for (const t of [
      'peers',
      'meta',
      'tasks',
      'outbox',
      'seen_messages',
      'events',
      'broadcasts',
      'file_entries',
      'v1_agents',
    ])
      expect(tables).toContain(t)
  })
})

describe('hosted agent column names', () => {
  it('a store at the version before them keeps its rows under from_hosted_agent and to_hosted_agent', () => {
    const path = join(dir, 'previous.db')
    const rename = MIGRATIONS.findIndex((m) => m.name === 'hosted agent column names')
    expect(rename).toBeGreaterThan(0)
    // the store as the previous release left it: every migration before the rename, with rows
    const db = new DatabaseSync(path)
    for (const m of MIGRATIONS.slice(0, rename)) m.up(db)
    db.exec(`PRAGMA user_version = ${rename}`)
    const now = Date.now()
    db.prepare(
      `INSERT INTO tasks (id, direction, peer, peer_name, task, context, priority, state, created_at, updated_at,
         expires_at, from_agent, to_agent)
       VALUES (?, 'received', 'peer-b', 'bob', 'hosted', NULL, 'normal', 'delivered', ?, ?, ?, ?, ?)`,
    ).run('t-hosted', now, now, now + 3_600_000, 'alice01', 'bob01')
    db.prepare(
      `INSERT INTO tasks (id, direction, peer, peer_name, task, context, priority, state, created_at, updated_at,
         expires_at)
       VALUES ('t-own', 'sent', 'peer-b', 'bob', 'own', NULL, 'normal', 'submitted', ?, ?, ?)`,
    ).run(now, now, now + 3_600_000)
    db.prepare(
      `INSERT INTO v1_local_tasks (id, from_agent, to_agent, state, created_at, updated_at)
       VALUES ('l1', 'alice01', 'carol01', 'delivered', ?, ?)`,
    ).run(now, now)
    db.close()

    const store = new Store(path)
    stores.push(store)
    expect(schemaVersion(store.db)).toBe(MIGRATIONS.length)
    const columnsOf = (table: string) =>
      (store.db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name)
    for (const table of ['tasks', 'v1_local_tasks']) {
      expect(columnsOf(table)).toEqual(expect.arrayContaining(['from_hosted_agent', 'to_hosted_agent']))
      expect(columnsOf(table)).not.toContain('from_agent')
      expect(columnsOf(table)).not.toContain('to_agent')
    }
    expect(
      store.db.prepare('SELECT id, from_hosted_agent, to_hosted_agent FROM tasks ORDER BY id').all(),
    ).toEqual([
      { id: 't-hosted', from_hosted_agent: 'alice01', to_hosted_agent: 'bob01' },
      { id: 't-own', from_hosted_agent: null, to_hosted_agent: null },
    ])
    // and the owners read them back
    const tasks = new TaskStore({ db: store.db, onEvent: () => {} })
    expect(tasks.get('received', 'peer-b', 't-hosted')).toMatchObject({
      task: 'hosted',
      fromAgent: 'alice01',
      toAgent: 'bob01',
    })
    expect(tasks.get('sent', 'peer-b', 't-own')).toMatchObject({ fromAgent: null, toAgent: null })
    expect(new V1Store(store.db).getLocalTask('l1')).toEqual({
      id: 'l1',
      fromAgent: 'alice01',
      toAgent: 'carol01',
      state: 'delivered',
    })
  })
})
