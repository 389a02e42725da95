// Durable state of the v1 API in the node's SQLite store: the v1 agents this node serves, their poll
// queues, and tasks between two v1 agents of this same node. Queue appends never open a transaction
// of their own: callers append inside the transaction that stores the message's cause.

import type { DatabaseSync, StatementSync } from 'node:sqlite'
import type { TaskState } from '../api/types.js'
import { newId } from '../rules/ids.js'
import { afterCommit, transaction } from '../store/database.js'
import { AGENT_MAX_SILENCE, MAX_AGENTS, MAX_QUEUE, SHORT_ID_MAX_AGE } from './constants.js'
import { V1Error } from './errors.js'
import type { RegisterBody } from './validate.js'

export interface V1Agent extends RegisterBody {
  registeredAt: number
  lastHeartbeat: number
}

/** What a poll hands out: a v1 envelope, `type` first. */
export interface V1Message {
  type: 'task_delegation' | 'task_response' | 'task_cancelled' | 'knowledge_broadcast' | 'file_updated'
  [field: string]: unknown
}

export interface LocalTask {
  id: string
  fromAgent: string
  toAgent: string
  state: TaskState
}

/** Message types a full queue may drop (oldest first); tasks and answers are never dropped. */
const DROPPABLE = `('knowledge_broadcast', 'file_updated')`

type Row = Record<string, string | number | null>

/** v1 message ids were 12 hex characters: the last 12 of a task id (random bits in a UUIDv7). */
export function shortId(id: string): string {
  const hex = id.replace(/-/g, '').toLowerCase()
  return /^[0-9a-f]{12,}$/.test(hex) ? hex.slice(-12) : id
}

function toAgent(r: Row): V1Agent {
  return {
    agentId: r.agent_id as string,
    name: r.name as string,
    capabilities: JSON.parse(r.capabilities as string) as string[],
    machine: r.machine as string,
    description: r.description as string,
    registeredAt: Number(r.registered_at),
    lastHeartbeat: Number(r.last_heartbeat),
  }
}

export class V1Store {
  private readonly stmt: Record<string, StatementSync>
  /** Told of each message queued (inside the transaction) and each new registration (WebSocket push). */
  onQueued?: (agentId: string) => void
  onRegistered?: (agent: V1Agent) => void
  /** an agent re-registered under a new id: called inside the transaction, for the node's records */
  onReplaced?: (old: string, agentId: string) => void
  /** an agent was deregistered, replaced by a re-registration or pruned (its sockets close) */
  onForgotten?: (agentId: string) => void

  constructor(
    private readonly db: DatabaseSync,
    private readonly now: () => number = Date.now,
  ) {
    // its tables are the store's (src/store/migrations.ts)
    const p = (sql: string) => db.prepare(sql)
    this.stmt = {
      get: p('SELECT * FROM v1_agents WHERE agent_id = ?'),
      list: p('SELECT * FROM v1_agents ORDER BY registered_at, agent_id'),
      count: p('SELECT count(*) AS n FROM v1_agents'),
      upsert:
        p(`INSERT INTO v1_agents (agent_id, name, capabilities, machine, description, registered_at, last_heartbeat)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (agent_id) DO UPDATE SET name = excluded.name, capabilities = excluded.capabilities,
        machine = excluded.machine, description = excluded.description, last_heartbeat = excluded.last_heartbeat`),
      heartbeat: p('UPDATE v1_agents SET last_heartbeat = ? WHERE agent_id = ?'),
      sameName: p('SELECT agent_id FROM v1_agents WHERE name = ? AND machine = ? AND agent_id != ?'),
      silent: p('SELECT agent_id FROM v1_agents WHERE last_heartbeat < ?'),
      deleteAgent: p('DELETE FROM v1_agents WHERE agent_id = ?'),
      dropQueue: p('DELETE FROM v1_queue WHERE agent_id = ?'),
      moveQueue: p('UPDATE v1_queue SET agent_id = ? WHERE agent_id = ?'),
      moveFrom: p('UPDATE v1_local_tasks SET from_hosted_agent = ? WHERE from_hosted_agent = ?'),
      moveTo: p('UPDATE v1_local_tasks SET to_hosted_agent = ? WHERE to_hosted_agent = ?'),
      putShort: p('INSERT OR IGNORE INTO v1_message_ids (short, id, at) VALUES (?, ?, ?)'),
      pruneShort: p('DELETE FROM v1_message_ids WHERE at < ?'),
      getShort: p('SELECT id FROM v1_message_ids WHERE short = ?'),
      enqueue: p('INSERT INTO v1_queue (agent_id, type, payload, created_at) VALUES (?, ?, ?, ?)'),
      queued: p('SELECT count(*) AS n FROM v1_queue WHERE agent_id = ?'),
      trim: p(
        `DELETE FROM v1_queue WHERE seq IN (SELECT seq FROM v1_queue WHERE agent_id = ? AND type IN ${DROPPABLE} ORDER BY seq LIMIT ?)`,
      ),
      take: p('SELECT seq, payload, created_at FROM v1_queue WHERE agent_id = ? ORDER BY seq LIMIT ?'),
      remove: p('DELETE FROM v1_queue WHERE seq = ?'),
      insertTask: p(
        'INSERT INTO v1_local_tasks (id, from_hosted_agent, to_hosted_agent, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      getTask: p('SELECT * FROM v1_local_tasks WHERE id = ?'),
      setTask: p('UPDATE v1_local_tasks SET state = ?, updated_at = ? WHERE id = ?'),
    }
  }

  /** Runs `fn` in one transaction (the caller must not be inside one). */
  transaction<T>(fn: () => T): T {
    return transaction(this.db, fn)
  }

  get(agentId: string): V1Agent | undefined {
    const r = this.stmt.get!.get(agentId) as Row | undefined
    return r == null ? undefined : toAgent(r)
  }

  has(agentId: string): boolean {
    return this.stmt.get!.get(agentId) != null
  }

  list(): V1Agent[] {
    return (this.stmt.list!.all() as Row[]).map(toAgent)
  }

  /**
   * Registers an agent, or updates one registered before (which also counts as a heartbeat). A v1
   * client makes a new random id at every start: an agent of the same name on the same machine is
   * the same agent, so its older record is replaced (its queue and local tasks move to the new id),
   * and re-registrations never fill the node. Agents silent for a day are pruned first.
   */
  register(body: RegisterBody): V1Agent & { replaced: string[] } {
    const agent = this.transaction(() => {
      const now = this.now()
      this.pruneSilent(now)
      const replaced = (this.stmt.sameName!.all(body.name, body.machine, body.agentId) as Row[]).map(
        (r) => r.agent_id as string,
      )
      for (const old of replaced) {
        this.stmt.moveQueue!.run(body.agentId, old)
        this.stmt.moveFrom!.run(body.agentId, old)
        this.stmt.moveTo!.run(body.agentId, old)
        this.onReplaced?.(old, body.agentId)
        this.stmt.deleteAgent!.run(old)
        afterCommit(this.db, () => this.onForgotten?.(old))
      }
      if (!this.has(body.agentId) && Number((this.stmt.count!.get() as { n: number }).n) >= MAX_AGENTS)
        throw new V1Error(409, `this node serves at most ${MAX_AGENTS} v1 agents`)
      this.stmt.upsert!.run(
        body.agentId,
        body.name,
        JSON.stringify(body.capabilities),
        body.machine,
        body.description,
        now,
        now,
      )
      return { ...this.get(body.agentId)!, replaced }
    })
    this.onRegistered?.(agent)
    return agent
  }

  /** Forgets agents not heard from in AGENT_MAX_SILENCE, with their queues; returns their ids. */
  pruneSilent(now = this.now()): string[] {
    const ids = (this.stmt.silent!.all(now - AGENT_MAX_SILENCE) as Row[]).map((r) => r.agent_id as string)
    this.stmt.pruneShort!.run(now - SHORT_ID_MAX_AGE)
    for (const id of ids) this.forget(id)
    return ids
  }

  /** Deregisters an agent and drops its queue; false for one never registered here. */
  deregister(agentId: string): boolean {
    return this.transaction(() => this.forget(agentId))
  }

  private forget(agentId: string): boolean {
    this.stmt.dropQueue!.run(agentId)
    const gone = Number(this.stmt.deleteAgent!.run(agentId).changes) > 0
    if (gone) afterCommit(this.db, () => this.onForgotten?.(agentId))
    return gone
  }

  /** Records the 12-hex id v1 clients see for a task; call inside the transaction that stores it. */
  rememberShort(id: string): string {
    const short = shortId(id)
    this.stmt.putShort!.run(short, id, this.now())
    return short
  }

  /** The task id for a message_id a v1 client sent (a short id, or the full one). */
  taskIdOf(messageId: string): string {
    const r = this.stmt.getShort!.get(messageId.toLowerCase()) as Row | undefined
    return r == null ? messageId : (r.id as string)
  }

  /** False for an agent never registered here. */
  heartbeat(agentId: string): boolean {
    return Number(this.stmt.heartbeat!.run(this.now(), agentId).changes) > 0
  }

  /** Queues a message for one agent; call inside the transaction that stores its cause. */
  enqueue(agentId: string, message: V1Message): void {
    this.stmt.enqueue!.run(agentId, message.type, JSON.stringify(message), this.now())
    const over = Number((this.stmt.queued!.get(agentId) as { n: number }).n) - MAX_QUEUE
    if (over > 0) this.stmt.trim!.run(agentId, over)
    this.onQueued?.(agentId)
  }

  /** Queues a message for every agent but `except`. */
  fanOut(message: V1Message, except?: string): void {
    for (const a of this.list()) if (a.agentId !== except) this.enqueue(a.agentId, message)
  }

  /** Hands out up to `limit` queued messages, oldest first, and removes them: each goes out once. */
  take(agentId: string, limit: number): V1Message[] {
    return this.transaction(() => {
      const rows = this.stmt.take!.all(agentId, limit) as Array<{
        seq: number
        payload: string
        created_at: number
      }>
      for (const r of rows) this.stmt.remove!.run(r.seq)
      // v1 stamped each message with the epoch seconds it was queued at
      return rows.map((r) => ({ ...(JSON.parse(r.payload) as V1Message), queued_at: r.created_at / 1000 }))
    })
  }

  queued(agentId: string): number {
    return Number((this.stmt.queued!.get(agentId) as { n: number }).n)
  }

  /** A task between two v1 agents of this node: stored with its delegation message. */
  delegateLocal(
    fromAgent: string,
    toAgent: string,
    message: (short: string, id: string) => V1Message,
  ): { id: string; short: string } {
    const id = newId()
    return this.transaction(() => {
      const now = this.now()
      this.stmt.insertTask!.run(id, fromAgent, toAgent, 'delivered', now, now)
      const short = this.rememberShort(id)
      this.enqueue(toAgent, message(short, id))
      return { id, short }
    })
  }

  getLocalTask(id: string): LocalTask | undefined {
    const r = this.stmt.getTask!.get(id) as Row | undefined
    if (r == null) return undefined
    return {
      id: r.id as string,
      fromAgent: r.from_hosted_agent as string,
      toAgent: r.to_hosted_agent as string,
      state: r.state as TaskState,
    }
  }

  /** Sets a local task's state and queues the answer for its delegator, in one transaction. */
  answerLocal(task: LocalTask, state: TaskState, message: V1Message): void {
    this.transaction(() => {
      this.stmt.setTask!.run(state, this.now(), task.id)
      this.enqueue(task.fromAgent, message)
    })
  }
}
