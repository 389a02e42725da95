// Durable state of the v1 API in the node's SQLite store: the v1 agents this node serves, their poll
// queues, and tasks between two v1 agents of this same node. Queue appends never open a transaction
// of their own: callers append inside the transaction that stores the message's cause.

import type { DatabaseSync, StatementSync } from 'node:sqlite'
import type { TaskState } from '../api/types.js'
import { newId } from '../rules/ids.js'
import { transaction } from '../store/database.js'
import { MAX_AGENTS, MAX_QUEUE } from './constants.js'
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
      enqueue: p('INSERT INTO v1_queue (agent_id, type, payload, created_at) VALUES (?, ?, ?, ?)'),
      queued: p('SELECT count(*) AS n FROM v1_queue WHERE agent_id = ?'),
      trim: p(
        `DELETE FROM v1_queue WHERE seq IN (SELECT seq FROM v1_queue WHERE agent_id = ? AND type IN ${DROPPABLE} ORDER BY seq LIMIT ?)`,
      ),
      take: p('SELECT seq, payload FROM v1_queue WHERE agent_id = ? ORDER BY seq LIMIT ?'),
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

  /** Registers an agent, or updates one registered before (which also counts as a heartbeat). */
  register(body: RegisterBody): V1Agent {
    const agent = this.transaction(() => {
      if (!this.has(body.agentId) && Number((this.stmt.count!.get() as { n: number }).n) >= MAX_AGENTS)
        throw new V1Error(409, `this node serves at most ${MAX_AGENTS} v1 agents`)
      const now = this.now()
      this.stmt.upsert!.run(
        body.agentId,
        body.name,
        JSON.stringify(body.capabilities),
        body.machine,
        body.description,
        now,
        now,
      )
      return this.get(body.agentId)!
    })
    this.onRegistered?.(agent)
    return agent
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
      const rows = this.stmt.take!.all(agentId, limit) as Array<{ seq: number; payload: string }>
      for (const r of rows) this.stmt.remove!.run(r.seq)
      return rows.map((r) => JSON.parse(r.payload) as V1Message)
    })
  }

  queued(agentId: string): number {
    return Number((this.stmt.queued!.get(agentId) as { n: number }).n)
  }

  /** A task between two v1 agents of this node: stored with its delegation message. */
  delegateLocal(fromAgent: string, toAgent: string, message: (id: string) => V1Message): string {
    const id = newId()
    this.transaction(() => {
      const now = this.now()
      this.stmt.insertTask!.run(id, fromAgent, toAgent, 'delivered', now, now)
      this.enqueue(toAgent, message(id))
    })
    return id
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
