// The task store's statements, prepared once per database. Every query here is checked against its
// query plan (test/unit/query-plans.test.ts): each searches an index.
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { prepared } from '../../store/statements.js'
import { TASK_COLUMNS } from './task-rows.js'

export function taskStatements(db: DatabaseSync): Record<string, StatementSync> {
  const p = (sql: string) => prepared(db, sql)
  return {
    insertTask:
      p(`INSERT INTO tasks (id, direction, peer, peer_name, task, context, priority, state, result, reason,
      created_at, updated_at, expires_at, from_hosted_agent, to_hosted_agent)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?, ?)`),
    getTask: p(`SELECT ${TASK_COLUMNS} FROM tasks WHERE direction = ? AND peer = ? AND id = ?`),
    findTask: p(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ?`),
    history: p(
      'SELECT state, at FROM task_states WHERE direction = ? AND peer = ? AND id = ? ORDER BY rowid',
    ),
    setState: p(
      'UPDATE tasks SET state = ?, result = ?, reason = ?, updated_at = ? WHERE direction = ? AND peer = ? AND id = ?',
    ),
    insertOutbox:
      p(`INSERT INTO outbox (msg_id, peer, kind, task_id, payload, created_at, expires_at, next_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
    deleteOutbox: p('DELETE FROM outbox WHERE msg_id = ?'),
    getOutbox: p('SELECT * FROM outbox WHERE msg_id = ?'),
    due: p('SELECT * FROM outbox WHERE next_at <= ? ORDER BY created_at, rowid LIMIT ?'),
    nextDue: p('SELECT min(next_at) AS t FROM outbox'),
    duePeers: p('SELECT DISTINCT peer FROM outbox WHERE next_at <= ?'),
    nextRetry: p('SELECT min(next_at) AS t FROM outbox WHERE next_at > ?'),
    nextExpiry: p('SELECT min(expires_at) AS t FROM outbox'),
    dueFor: p('SELECT * FROM outbox WHERE peer = ? AND next_at <= ? ORDER BY created_at, rowid LIMIT ?'),
    failed: p('UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE msg_id = ?'),
    kickPeer: p('UPDATE outbox SET next_at = ? WHERE peer = ? AND next_at > ?'),
    seen: p('SELECT 1 FROM seen_messages WHERE peer = ? AND msg_id = ?'),
    markSeen: p('INSERT OR IGNORE INTO seen_messages (peer, msg_id, at) VALUES (?, ?, ?)'),
    // kept by triggers (src/store/migrations.ts): no count over the tasks table per message
    pending: p('SELECT coalesce(sum(n), 0) AS n FROM open_received WHERE peer = ?'),
    open: p('SELECT coalesce(sum(n), 0) AS n FROM open_received'),
    expiredOutbox: p('SELECT * FROM outbox WHERE expires_at <= ?'),
    forget: p('DELETE FROM seen_messages WHERE at < ?'),
    outboxSize: p('SELECT count(*) AS n FROM outbox'),
    outboxForTask: p('SELECT msg_id FROM outbox WHERE peer = ? AND task_id = ? AND kind = ?'),
    // rowid order is the order the task's messages were queued in (rowids only grow while rows exist)
    olderOfTask: p(
      'SELECT msg_id FROM outbox WHERE peer = ? AND task_id = ? AND rowid < (SELECT rowid FROM outbox WHERE msg_id = ?)',
    ),
  }
}
