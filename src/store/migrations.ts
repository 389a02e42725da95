// Every table of the node's store, as one ordered list of migrations; PRAGMA user_version holds how many
// have run. Append only: a migration that has shipped never changes, a change is a new one at the end.
//
// Before this list, only the first migration lived here and every other owner created its own tables
// with CREATE TABLE IF NOT EXISTS when it opened (and added columns with ALTER TABLE). A store from then
// is at version 1 with some or all of those tables present, so the migrations that take them over are
// written to find them already there (IF NOT EXISTS, columns added only when missing).
import type { DatabaseSync } from 'node:sqlite'

export interface Migration {
  /** what it adds, for errors and tests */
  name: string
  up: (db: DatabaseSync) => void
}

const sql =
  (text: string) =>
  (db: DatabaseSync): void => {
    db.exec(text)
  }

function columns(db: DatabaseSync, table: string): string[] {
  return (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name)
}

export const MIGRATIONS: readonly Migration[] = [
  {
    name: 'peers and meta',
    up: sql(`CREATE TABLE peers (
       id TEXT PRIMARY KEY,
       name TEXT NOT NULL,
       card TEXT NOT NULL,
       addrs TEXT NOT NULL,
       last_seen INTEGER NOT NULL,
       left_at INTEGER
     );
     CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`),
  },
  {
    name: 'tasks, outbox and seen messages',
    up: (db) => {
      db.exec(`
        CREATE TABLE IF NOT EXISTS tasks (
          id TEXT NOT NULL,
          direction TEXT NOT NULL CHECK (direction IN ('sent', 'received')),
          peer TEXT NOT NULL,
          peer_name TEXT NOT NULL,
          task TEXT NOT NULL,
          context TEXT,
          priority TEXT NOT NULL,
          state TEXT NOT NULL,
          result TEXT,
          reason TEXT,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          expires_at INTEGER NOT NULL,
          PRIMARY KEY (direction, peer, id)
        );
        CREATE INDEX IF NOT EXISTS tasks_id ON tasks (id);
        CREATE INDEX IF NOT EXISTS tasks_state ON tasks (direction, state);
        CREATE TABLE IF NOT EXISTS outbox (
          msg_id TEXT PRIMARY KEY,
          peer TEXT NOT NULL,
          kind TEXT NOT NULL,
          task_id TEXT NOT NULL,
          payload BLOB NOT NULL,
          created_at INTEGER NOT NULL,
          expires_at INTEGER NOT NULL,
          attempts INTEGER NOT NULL DEFAULT 0,
          next_at INTEGER NOT NULL,
          last_error TEXT
        );
        CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_at);
        CREATE TABLE IF NOT EXISTS seen_messages (
          peer TEXT NOT NULL,
          msg_id TEXT NOT NULL,
          at INTEGER NOT NULL,
          PRIMARY KEY (peer, msg_id)
        );`)
      // the hosted (v1) agent a task is from and for; stores from before them lack the columns
      const have = columns(db, 'tasks')
      for (const col of ['from_agent', 'to_agent'])
        if (!have.includes(col)) db.exec(`ALTER TABLE tasks ADD COLUMN ${col} TEXT`)
    },
  },
  {
    name: 'inbox events',
    up: sql(`
      CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        type TEXT NOT NULL,
        priority INTEGER NOT NULL,
        payload TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        seen INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX IF NOT EXISTS events_unseen ON events (seen, priority DESC, seq);`),
  },
  {
    name: 'knowledge broadcasts',
    up: sql(`
      CREATE TABLE IF NOT EXISTS broadcasts (
        id TEXT PRIMARY KEY,
        author TEXT NOT NULL,
        topic TEXT NOT NULL,
        tags TEXT NOT NULL,
        content TEXT NOT NULL,
        time INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        raw BLOB NOT NULL
      );
      CREATE INDEX IF NOT EXISTS broadcasts_time ON broadcasts (time, id);
      CREATE INDEX IF NOT EXISTS broadcasts_topic ON broadcasts (topic, time);`),
  },
  {
    name: 'file map entries',
    up: sql(`
      CREATE TABLE IF NOT EXISTS file_entries (
        -- insertion order for sync cursors; AUTOINCREMENT so a pruned row's number is never reused
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        key TEXT NOT NULL,
        version INTEGER NOT NULL,
        base INTEGER NOT NULL,
        author TEXT NOT NULL,
        time INTEGER NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        media_type TEXT NOT NULL,
        deleted INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        raw BLOB NOT NULL
      );
      CREATE INDEX IF NOT EXISTS file_entries_key ON file_entries (key, version DESC, author DESC);
      CREATE INDEX IF NOT EXISTS file_entries_sha ON file_entries (sha256);
      CREATE TABLE IF NOT EXISTS file_entries_pruned (id TEXT PRIMARY KEY, at INTEGER NOT NULL);`),
  },
  {
    name: 'hosted (v1) agents, their queues and local tasks',
    up: sql(`
      CREATE TABLE IF NOT EXISTS v1_agents (
        agent_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        capabilities TEXT NOT NULL,
        machine TEXT NOT NULL,
        description TEXT NOT NULL,
        registered_at INTEGER NOT NULL,
        last_heartbeat INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS v1_queue (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        agent_id TEXT NOT NULL,
        type TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS v1_queue_agent ON v1_queue (agent_id, seq);
      CREATE TABLE IF NOT EXISTS v1_local_tasks (
        id TEXT PRIMARY KEY,
        from_agent TEXT NOT NULL,
        to_agent TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );`),
  },
  {
    // every query on a hot path searches an index (test/unit/query-plans.test.ts)
    name: 'indexes for the hot paths',
    up: sql(`
      CREATE INDEX seen_messages_at ON seen_messages (at);
      CREATE INDEX outbox_expires ON outbox (expires_at);
      CREATE INDEX outbox_peer_due ON outbox (peer, next_at);
      CREATE INDEX outbox_task ON outbox (peer, task_id, kind);
      CREATE INDEX tasks_created ON tasks (created_at);
      CREATE INDEX events_seen_time ON events (seen, created_at);`),
  },
  {
    // a receiver checks a sender's open tasks against its quota for every DELEGATE: a count kept by
    // triggers, in the same transaction as the change, instead of counting rows each time
    name: 'open received tasks per peer',
    up: sql(`
      CREATE TABLE open_received (peer TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO open_received (peer, n)
        SELECT peer, count(*) FROM tasks
        WHERE direction = 'received' AND state IN ('delivered', 'working') GROUP BY peer;
      CREATE TRIGGER open_received_insert AFTER INSERT ON tasks
        WHEN new.direction = 'received' AND new.state IN ('delivered', 'working')
      BEGIN
        INSERT INTO open_received (peer, n) VALUES (new.peer, 1)
          ON CONFLICT (peer) DO UPDATE SET n = n + 1;
      END;
      CREATE TRIGGER open_received_update AFTER UPDATE OF state ON tasks
        WHEN new.direction = 'received'
          AND (old.state IN ('delivered', 'working')) != (new.state IN ('delivered', 'working'))
      BEGIN
        INSERT INTO open_received (peer, n)
          VALUES (new.peer, CASE WHEN new.state IN ('delivered', 'working') THEN 1 ELSE -1 END)
          ON CONFLICT (peer) DO UPDATE SET n = n + excluded.n;
      END;
      CREATE TRIGGER open_received_delete AFTER DELETE ON tasks
        WHEN old.direction = 'received' AND old.state IN ('delivered', 'working')
      BEGIN
        UPDATE open_received SET n = n - 1 WHERE peer = old.peer;
      END;`),
  },
  {
    // history sync by per-peer cursor (src/protocols/sync): every broadcast gets a local sequence
    // number, broadcasts stored before it in insertion (rowid) order; file entries already have one
    name: 'sync sequences, epochs and per-peer cursors',
    up: (db) => {
      if (!columns(db, 'broadcasts').includes('seq'))
        db.exec('ALTER TABLE broadcasts ADD COLUMN seq INTEGER; UPDATE broadcasts SET seq = rowid;')
      db.exec(`
        CREATE UNIQUE INDEX IF NOT EXISTS broadcasts_seq ON broadcasts (seq);
        CREATE TABLE IF NOT EXISTS sync_sequences (
          service TEXT PRIMARY KEY,
          epoch TEXT NOT NULL,
          seq INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS sync_cursors (
          service TEXT NOT NULL,
          peer TEXT NOT NULL,
          epoch TEXT NOT NULL,
          seq INTEGER NOT NULL,
          PRIMARY KEY (service, peer)
        );`)
    },
  },
  {
    // the hosted-agent columns take the names the wire gives them (task.proto fields 12-13,
    // from_hosted_agent and to_hosted_agent); RENAME COLUMN keeps every row in place
    name: 'hosted agent column names',
    up: sql(`
      ALTER TABLE tasks RENAME COLUMN from_agent TO from_hosted_agent;
      ALTER TABLE tasks RENAME COLUMN to_agent TO to_hosted_agent;
      ALTER TABLE v1_local_tasks RENAME COLUMN from_agent TO from_hosted_agent;
      ALTER TABLE v1_local_tasks RENAME COLUMN to_agent TO to_hosted_agent;`),
  },
  {
    // v1 clients parse 12-hex message ids: the short id of each task a v1 agent sees, to find the task;
    // a re-registered v1 agent takes over its local tasks by agent id
    name: 'v1 short message ids',
    up: sql(`
      CREATE TABLE IF NOT EXISTS v1_message_ids (
        short TEXT PRIMARY KEY,
        id TEXT NOT NULL,
        at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS v1_message_ids_at ON v1_message_ids (at);
      CREATE INDEX IF NOT EXISTS v1_local_tasks_from ON v1_local_tasks (from_hosted_agent);
      CREATE INDEX IF NOT EXISTS v1_local_tasks_to ON v1_local_tasks (to_hosted_agent);`),
  },
  {
    // the A2A bridge (src/a2a/): which mesh tasks an A2A client made (and in which A2A context), the
    // webhooks it registered for them, and each webhook call not yet acknowledged (retried after a restart)
    name: 'a2a bridge tasks, push configs and push outbox',
    up: sql(`
      CREATE TABLE IF NOT EXISTS a2a_inbound_tasks (
        task_id TEXT PRIMARY KEY,
        context_id TEXT NOT NULL,
        agent TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS a2a_inbound_tasks_created ON a2a_inbound_tasks (created_at);
      CREATE TABLE IF NOT EXISTS a2a_push_configs (
        task_id TEXT NOT NULL,
        config_id TEXT NOT NULL,
        config TEXT NOT NULL,
        PRIMARY KEY (task_id, config_id)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS a2a_push_outbox (
        event_id TEXT PRIMARY KEY,
        task_id TEXT NOT NULL,
        config_id TEXT NOT NULL,
        body TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at INTEGER NOT NULL,
        last_error TEXT
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS a2a_push_outbox_next ON a2a_push_outbox (next_at);`),
  },
  {
    // input-required (the assignee asked its delegator a question) is as open as working: it counts
    // toward a sender's quota and the announced load
    name: 'input-required counts as open',
    up: sql(`
      DROP TRIGGER open_received_insert;
      DROP TRIGGER open_received_update;
      DROP TRIGGER open_received_delete;
      DELETE FROM open_received;
      INSERT INTO open_received (peer, n)
        SELECT peer, count(*) FROM tasks
        WHERE direction = 'received' AND state IN ('delivered', 'working', 'input-required') GROUP BY peer;
      CREATE TRIGGER open_received_insert AFTER INSERT ON tasks
        WHEN new.direction = 'received' AND new.state IN ('delivered', 'working', 'input-required')
      BEGIN
        INSERT INTO open_received (peer, n) VALUES (new.peer, 1)
          ON CONFLICT (peer) DO UPDATE SET n = n + 1;
      END;
      CREATE TRIGGER open_received_update AFTER UPDATE OF state ON tasks
        WHEN new.direction = 'received'
          AND (old.state IN ('delivered', 'working', 'input-required'))
            != (new.state IN ('delivered', 'working', 'input-required'))
      BEGIN
        INSERT INTO open_received (peer, n)
          VALUES (new.peer, CASE WHEN new.state IN ('delivered', 'working', 'input-required') THEN 1 ELSE -1 END)
          ON CONFLICT (peer) DO UPDATE SET n = n + excluded.n;
      END;
      CREATE TRIGGER open_received_delete AFTER DELETE ON tasks
        WHEN old.direction = 'received' AND old.state IN ('delivered', 'working', 'input-required')
      BEGIN
        UPDATE open_received SET n = n - 1 WHERE peer = old.peer;
      END;`),
  },
  {
    // external A2A agents this node bridges to the mesh (src/core/a2a-outbound): the registered agents
    // with their cards (a token is never stored, only the name of the env var that holds it); per
    // task for one of them, where the bridge is (send, follow, cancel, done) and the A2A task it
    // follows; and the delegator's replies waiting to go to it as follow-up messages, in order
    name: 'a2a outbound agents, tasks and replies',
    up: sql(`
      CREATE TABLE a2a_agents (
        name TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        token_env TEXT,
        card TEXT NOT NULL,
        added_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE a2a_outbound_tasks (
        peer TEXT NOT NULL,
        task_id TEXT NOT NULL,
        agent TEXT NOT NULL,
        phase TEXT NOT NULL,
        remote_id TEXT,
        context_id TEXT,
        expires_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (peer, task_id)
      ) WITHOUT ROWID;
      CREATE INDEX a2a_outbound_tasks_phase ON a2a_outbound_tasks (phase);
      CREATE TABLE a2a_replies (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        peer TEXT NOT NULL,
        task_id TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX a2a_replies_task ON a2a_replies (peer, task_id, seq);`),
  },
  {
    // every state a task has been in, with its time (`history` of GET /v1/tasks?id=), kept by triggers
    name: 'task state history',
    up: sql(`
      CREATE TABLE task_states (
        direction TEXT NOT NULL,
        peer TEXT NOT NULL,
        id TEXT NOT NULL,
        state TEXT NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE INDEX task_states_task ON task_states (direction, peer, id);
      INSERT INTO task_states (direction, peer, id, state, at)
        SELECT direction, peer, id, state, updated_at FROM tasks ORDER BY updated_at;
      CREATE TRIGGER task_states_insert AFTER INSERT ON tasks
      BEGIN
        INSERT INTO task_states (direction, peer, id, state, at)
          VALUES (new.direction, new.peer, new.id, new.state, new.created_at);
      END;
      CREATE TRIGGER task_states_update AFTER UPDATE OF state ON tasks WHEN old.state != new.state
      BEGIN
        INSERT INTO task_states (direction, peer, id, state, at)
          VALUES (new.direction, new.peer, new.id, new.state, new.updated_at);
      END;
      CREATE TRIGGER task_states_delete AFTER DELETE ON tasks
      BEGIN
        DELETE FROM task_states WHERE direction = old.direction AND peer = old.peer AND id = old.id;
      END;`),
  },
]

/** The schema version of db. */
export function schemaVersion(db: DatabaseSync): number {
  return Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version)
}

/** Runs the migrations db has not had yet, each in its own transaction with its version bump. */
export function migrate(db: DatabaseSync, transaction: <T>(fn: () => T) => T): void {
  // a store from a newer ClawLink (version beyond the list) is left as it is: its extra tables are unused
  const version = schemaVersion(db)
  for (let v = version; v < MIGRATIONS.length; v++) {
    transaction(() => {
      MIGRATIONS[v]!.up(db)
      db.exec(`PRAGMA user_version = ${v + 1}`)
    })
  }
}
