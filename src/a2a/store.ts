// The bridge's own rows in the node's store (migration "a2a bridge ..."): which mesh tasks an A2A
// client made and in which context, their webhook configs, and the webhook calls not yet acknowledged.
import type { DatabaseSync, StatementSync } from 'node:sqlite'

export interface BridgeTask {
  taskId: string
  contextId: string
  agent: string
  createdAt: number
}

export interface PushRow {
  eventId: string
  taskId: string
  configId: string
  body: string
  attempts: number
  nextAt: number
}

type Row = Record<string, string | number | null>

const toTask = (r: Row): BridgeTask => ({
  taskId: r.task_id as string,
  contextId: r.context_id as string,
  agent: r.agent as string,
  createdAt: Number(r.created_at),
})

/** Webhooks per task: more is a runaway client. */
export const MAX_CONFIGS_PER_TASK = 10

export class BridgeStore {
  private readonly stmt: Record<string, StatementSync>

  constructor(readonly db: DatabaseSync) {
    const p = (s: string) => db.prepare(s)
    this.stmt = {
      addTask: p(
        'INSERT OR IGNORE INTO a2a_inbound_tasks (task_id, context_id, agent, created_at) VALUES (?, ?, ?, ?)',
      ),
      getTask: p('SELECT * FROM a2a_inbound_tasks WHERE task_id = ?'),
      listTasks: p(
        `SELECT * FROM a2a_inbound_tasks WHERE (? IS NULL OR context_id = ?) AND created_at < ?
         ORDER BY created_at DESC, task_id DESC LIMIT ?`,
      ),
      countTasks: p('SELECT COUNT(*) AS n FROM a2a_inbound_tasks WHERE (? IS NULL OR context_id = ?)'),
      saveConfig: p('INSERT OR REPLACE INTO a2a_push_configs (task_id, config_id, config) VALUES (?, ?, ?)'),
      configs: p('SELECT config FROM a2a_push_configs WHERE task_id = ? ORDER BY config_id'),
      countConfigs: p('SELECT COUNT(*) AS n FROM a2a_push_configs WHERE task_id = ?'),
      deleteConfig: p('DELETE FROM a2a_push_configs WHERE task_id = ? AND config_id = ?'),
      deleteConfigs: p('DELETE FROM a2a_push_configs WHERE task_id = ?'),
      enqueue: p(
        'INSERT OR IGNORE INTO a2a_push_outbox (event_id, task_id, config_id, body, next_at) VALUES (?, ?, ?, ?, ?)',
      ),
      due: p('SELECT * FROM a2a_push_outbox WHERE next_at <= ? ORDER BY next_at LIMIT ?'),
      nextDue: p('SELECT MIN(next_at) AS t FROM a2a_push_outbox'),
      done: p('DELETE FROM a2a_push_outbox WHERE event_id = ?'),
      retry: p(
        'UPDATE a2a_push_outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE event_id = ?',
      ),
    }
  }

  addTask(t: BridgeTask): void {
    this.stmt.addTask!.run(t.taskId, t.contextId, t.agent, t.createdAt)
  }

  task(taskId: string): BridgeTask | undefined {
    const r = this.stmt.getTask!.get(taskId) as Row | undefined
    return r != null ? toTask(r) : undefined
  }

  /** Newest first, `before` (a created_at) as the page cursor. */
  tasks(contextId: string | null, before: number, limit: number): BridgeTask[] {
    return (this.stmt.listTasks!.all(contextId, contextId, before, limit) as Row[]).map(toTask)
  }

  count(contextId: string | null): number {
    return Number((this.stmt.countTasks!.get(contextId, contextId) as { n: number }).n)
  }

  saveConfig(taskId: string, configId: string, config: string): void {
    this.stmt.saveConfig!.run(taskId, configId, config)
  }

  configCount(taskId: string): number {
    return Number((this.stmt.countConfigs!.get(taskId) as { n: number }).n)
  }

  configs(taskId: string): string[] {
    return (this.stmt.configs!.all(taskId) as Row[]).map((r) => r.config as string)
  }

  deleteConfig(taskId: string, configId?: string): void {
    if (configId == null || configId === '') this.stmt.deleteConfigs!.run(taskId)
    else this.stmt.deleteConfig!.run(taskId, configId)
  }

  enqueue(eventId: string, taskId: string, configId: string, body: string, at: number): void {
    this.stmt.enqueue!.run(eventId, taskId, configId, body, at)
  }

  due(now: number, limit: number): PushRow[] {
    return (this.stmt.due!.all(now, limit) as Row[]).map((r) => ({
      eventId: r.event_id as string,
      taskId: r.task_id as string,
      configId: r.config_id as string,
      body: r.body as string,
      attempts: Number(r.attempts),
      nextAt: Number(r.next_at),
    }))
  }

  nextDue(): number | undefined {
    const t = (this.stmt.nextDue!.get() as { t: number | null }).t
    return t == null ? undefined : Number(t)
  }

  done(eventId: string): void {
    this.stmt.done!.run(eventId)
  }

  retry(eventId: string, nextAt: number, error: string): void {
    this.stmt.retry!.run(nextAt, error.slice(0, 500), eventId)
  }
}
