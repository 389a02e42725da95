// Durable state of the A2A bridge (tables in src/store/migrations.ts): the external agents registered
// here, one job per mesh task for one of them, and the delegator's replies waiting to go out. Writes
// that follow a task event run inside the transaction that stores the event (the mailbox calls in it),
// so a task, a cancel or a reply the node acknowledged is never lost to a crash.
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { prepared } from '../../store/statements.js'

export interface A2aAgentRow {
  name: string
  url: string
  tokenEnv: string | null
  /** the agent card as JSON text, as fetched when it was added */
  card: string
  addedAt: number
}

/** send: SendMessage not accepted yet; follow: the A2A task is followed; cancel: withdraw it; done. */
export type JobPhase = 'send' | 'follow' | 'cancel' | 'done'

export interface A2aJob {
  peer: string
  taskId: string
  agent: string
  phase: JobPhase
  remoteId: string | null
  contextId: string | null
  expiresAt: number
  attempts: number
}

export interface PendingReply {
  seq: number
  text: string
}

type Row = Record<string, string | number | null>

const toJob = (r: Row): A2aJob => ({
  peer: r.peer as string,
  taskId: r.task_id as string,
  agent: r.agent as string,
  phase: r.phase as JobPhase,
  remoteId: (r.remote_id as string | null) ?? null,
  contextId: (r.context_id as string | null) ?? null,
  expiresAt: Number(r.expires_at),
  attempts: Number(r.attempts),
})

export class A2aStore {
  private readonly stmt: Record<string, StatementSync>

  constructor(readonly db: DatabaseSync) {
    const p = (sql: string) => prepared(db, sql)
    this.stmt = {
      agents: p('SELECT * FROM a2a_agents ORDER BY added_at, name'),
      agent: p('SELECT * FROM a2a_agents WHERE name = ?'),
      addAgent: p('INSERT INTO a2a_agents (name, url, token_env, card, added_at) VALUES (?, ?, ?, ?, ?)'),
      removeAgent: p('DELETE FROM a2a_agents WHERE name = ?'),
      job: p('SELECT * FROM a2a_outbound_tasks WHERE peer = ? AND task_id = ?'),
      open: p(`SELECT * FROM a2a_outbound_tasks WHERE phase != 'done'`),
      addJob:
        p(`INSERT OR IGNORE INTO a2a_outbound_tasks (peer, task_id, agent, phase, expires_at, created_at)
        VALUES (?, ?, ?, 'send', ?, ?)`),
      phase: p('UPDATE a2a_outbound_tasks SET phase = ? WHERE peer = ? AND task_id = ?'),
      sent: p(`UPDATE a2a_outbound_tasks SET phase = 'follow', remote_id = ?, context_id = ?, attempts = 0, last_error = NULL
        WHERE peer = ? AND task_id = ? AND phase = 'send'`),
      failed: p(
        'UPDATE a2a_outbound_tasks SET attempts = attempts + 1, last_error = ? WHERE peer = ? AND task_id = ?',
      ),
      lastError: p('SELECT last_error FROM a2a_outbound_tasks WHERE peer = ? AND task_id = ?'),
      addReply: p('INSERT INTO a2a_replies (peer, task_id, text, created_at) VALUES (?, ?, ?, ?)'),
      replies: p('SELECT seq, text FROM a2a_replies WHERE peer = ? AND task_id = ? ORDER BY seq'),
      dropReply: p('DELETE FROM a2a_replies WHERE seq = ?'),
      dropReplies: p('DELETE FROM a2a_replies WHERE peer = ? AND task_id = ?'),
    }
  }

  agents(): A2aAgentRow[] {
    return (this.stmt.agents!.all() as Row[]).map((r) => ({
      name: r.name as string,
      url: r.url as string,
      tokenEnv: (r.token_env as string | null) ?? null,
      card: r.card as string,
      addedAt: Number(r.added_at),
    }))
  }

  agent(name: string): A2aAgentRow | undefined {
    return this.agents().find((a) => a.name === name)
  }

  addAgent(a: A2aAgentRow): void {
    this.stmt.addAgent!.run(a.name, a.url, a.tokenEnv, a.card, a.addedAt)
  }

  removeAgent(name: string): boolean {
    return Number(this.stmt.removeAgent!.run(name).changes) > 0
  }

  job(peer: string, taskId: string): A2aJob | undefined {
    const r = this.stmt.job!.get(peer, taskId) as Row | undefined
    return r == null ? undefined : toJob(r)
  }

  openJobs(): A2aJob[] {
    return (this.stmt.open!.all() as Row[]).map(toJob)
  }

  /** A new task for an agent: false when it already has a job (the same task again). */
  addJob(peer: string, taskId: string, agent: string, expiresAt: number): boolean {
    return Number(this.stmt.addJob!.run(peer, taskId, agent, expiresAt, Date.now()).changes) > 0
  }

  setPhase(job: A2aJob, phase: JobPhase): void {
    this.stmt.phase!.run(phase, job.peer, job.taskId)
    if (phase === 'done') this.stmt.dropReplies!.run(job.peer, job.taskId)
  }

  /** The agent accepted the message: the A2A task to follow. */
  markSent(job: A2aJob, remoteId: string, contextId: string): void {
    this.stmt.sent!.run(remoteId, contextId, job.peer, job.taskId)
  }

  recordError(job: A2aJob, error: string): void {
    this.stmt.failed!.run(error.slice(0, 500), job.peer, job.taskId)
  }

  lastError(job: A2aJob): string | null {
    const r = this.stmt.lastError!.get(job.peer, job.taskId) as Row | undefined
    return (r?.last_error as string | null | undefined) ?? null
  }

  addReply(peer: string, taskId: string, text: string): void {
    this.stmt.addReply!.run(peer, taskId, text, Date.now())
  }

  replies(job: A2aJob): PendingReply[] {
    return (this.stmt.replies!.all(job.peer, job.taskId) as Row[]).map((r) => ({
      seq: Number(r.seq),
      text: r.text as string,
    }))
  }

  dropReply(seq: number): void {
    this.stmt.dropReply!.run(seq)
  }
}
