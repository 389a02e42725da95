// Durable task state: tasks sent and received, the outbox of messages not yet acknowledged, and the
// ids of messages already received. Every change that a peer or the agent will rely on is one
// SQLite transaction (WAL, synchronous=FULL), committed before anything is acknowledged or returned.
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { newId } from '../../rules/ids.js'
import { prepared } from '../../store/statements.js'
import { afterCommit, inTransaction, transaction } from '../../store/transaction.js'
import { NOTICE_TTL, SEEN_RETENTION } from './constants.js'
import { TaskError } from './errors.js'
import { TaskMessage } from './pb/task.js'
import {
  type DelegateInput,
  insertValues,
  message,
  type OutboxRow,
  priorityFromWire,
  RANK,
  RESPONSE_STATES,
  type ReceiveResult,
  type Row,
  sentRow,
  stateFromWire,
  stateToWire,
  TASK_COLUMNS,
  type TaskEvent,
  type TaskRow,
  TERMINAL,
  toOutbox,
  toTask,
} from './task-rows.js'
import { taskStatements } from './task-sql.js'
import type { TaskState } from './types.js'

// rows, inputs and wire mappings, for the store's users
export * from './task-rows.js'

export interface TaskStoreInit {
  db: DatabaseSync
  /** Called inside the transaction that made the change, so the event exists exactly once. */
  onEvent: (event: TaskEvent) => void
  now?: () => number
}

export class TaskStore {
  readonly db: DatabaseSync
  readonly onEvent: TaskStoreInit['onEvent']
  readonly now: () => number
  readonly stmt: Record<string, StatementSync>

  constructor(init: TaskStoreInit) {
    this.db = init.db
    this.onEvent = init.onEvent
    this.now = init.now ?? Date.now
    // the tables are the store's (src/store/migrations.ts)
    this.stmt = taskStatements(this.db)
  }

  /** Listeners for outbox rows, called once the transaction that queued them has committed. */
  private readonly outboxListeners = new Set<(row: OutboxRow) => void>()
  /** set by joining(): writes run in the caller's transaction */
  private joined = false

  /**
   * Runs fn inside the transaction the caller has open (a group commit), with the store's writes joining
   * it instead of each opening its own. Not a nested transaction: outside one, this throws.
   */
  joining<T>(fn: () => T): T {
    if (!inTransaction(this.db)) throw new Error('TaskStore.joining() needs an open transaction')
    this.joined = true
    try {
      return fn()
    } finally {
      this.joined = false
    }
  }

  private tx<T>(fn: () => T): T {
    return this.joined ? fn() : transaction(this.db, fn)
  }

  /** Calls fn with every message queued for a peer, once it is committed (the delivery loop's event). */
  onOutbox(fn: (row: OutboxRow) => void): () => void {
    this.outboxListeners.add(fn)
    return () => this.outboxListeners.delete(fn)
  }

  get(direction: 'sent' | 'received', peer: string, id: string): TaskRow | undefined {
    const r = this.stmt.getTask!.get(direction, peer, id) as Row | undefined
    return r == null ? undefined : toTask(r)
  }

  /** Tasks with this id (normally one; ids are chosen by delegators, so two peers could collide). */
  find(id: string): TaskRow[] {
    return (this.stmt.findTask!.all(id) as Row[]).map(toTask)
  }

  /** Every state the task has been in, oldest first, each with its time (epoch ms). */
  history(row: TaskRow): Array<{ state: TaskState; at: number }> {
    return (this.stmt.history!.all(row.direction, row.peer, row.id) as Row[]).map((r) => ({
      state: r.state as TaskState,
      at: Number(r.at),
    }))
  }

  list(opts: { open?: boolean; limit?: number } = {}): TaskRow[] {
    const where = opts.open === true ? `WHERE state NOT IN ('${[...TERMINAL].join("', '")}')` : ''
    return (
      prepared(this.db, `SELECT ${TASK_COLUMNS} FROM tasks ${where} ORDER BY created_at DESC LIMIT ?`).all(
        opts.limit ?? 1000,
      ) as Row[]
    ).map(toTask)
  }

  /** Incoming tasks not yet final: the load this agent announces. */
  openCount(): number {
    return Number((this.stmt.open!.get() as { n: number }).n)
  }

  outboxSize(): number {
    return Number((this.stmt.outboxSize!.get() as { n: number }).n)
  }

  enqueue(peer: string, msg: TaskMessage, expiresAt: number): void {
    const now = this.now()
    const payload = TaskMessage.encode(msg)
    this.stmt.insertOutbox!.run(msg.msgId, peer, msg.kind, msg.taskId, payload, now, expiresAt, now)
    if (this.outboxListeners.size === 0) return
    const row: OutboxRow = {
      msgId: msg.msgId,
      peer,
      kind: msg.kind,
      taskId: msg.taskId,
      payload,
      expiresAt,
      attempts: 0,
      nextAt: now,
    }
    afterCommit(this.db, () => {
      for (const fn of this.outboxListeners) fn(row)
    })
  }

  /** Sets a task's state, sending nothing (a local task's changes: see local-tasks.ts). */
  setState(row: TaskRow, state: TaskState, result: string | null, reason: string | null): TaskRow {
    const updatedAt = this.now()
    this.stmt.setState!.run(state, result, reason, updatedAt, row.direction, row.peer, row.id)
    return { ...row, state, result, reason, updatedAt }
  }

  /** A new task from this agent: stored with its DELEGATE message in the outbox, in one transaction. */
  delegate(input: DelegateInput): TaskRow {
    const now = this.now()
    const id = input.id ?? newId()
    const expiresAt = now + input.ttl
    const msg = message(TaskMessage.Kind.DELEGATE, id, input.priority, now, {
      msgId: id,
      task: input.task,
      context: input.context ?? '',
      expiresAt: BigInt(expiresAt),
      fromHostedAgent: input.fromAgent,
      toHostedAgent: input.toAgent,
    })
    const row = sentRow(id, input, now, expiresAt)
    return this.tx(() => {
      this.stmt.insertTask!.run(...insertValues(row))
      if (input.local !== true) this.enqueue(input.peer, msg, expiresAt)
      return row
    })
  }

  /** This agent answers a task it received; `reason` travels in the UPDATE (a hosted agent's own status word). */
  respond(row: TaskRow, state: TaskState, result: string, reason: string | null = null): TaskRow {
    if (row.direction !== 'received')
      throw new TaskError('not_yours', `task ${row.id} was not delegated to this agent`)
    // only these travel in an UPDATE (the receiver refuses CANCELED; the others have no wire state)
    if (!RESPONSE_STATES.has(state)) throw new TaskError('invalid', `a response cannot make a task ${state}`)
    return this.tx(() => {
      // the stored state, not the caller's copy: the delegator may have canceled meanwhile
      const current = this.get(row.direction, row.peer, row.id)
      if (current == null) throw new TaskError('not_found', `no task ${row.id}`)
      if (TERMINAL.has(current.state))
        throw new TaskError('final', `task ${row.id} is already ${current.state}`)
      if (RANK[state] < RANK[current.state])
        throw new TaskError('invalid', `task ${row.id} is ${current.state}; it cannot go back to ${state}`)
      const msg = message(TaskMessage.Kind.UPDATE, row.id, current.priority, this.now(), {
        state: stateToWire[state]!,
        result,
        reason: reason ?? '',
      })
      const updated = this.setState(current, state, result, reason)
      this.enqueue(row.peer, msg, this.now() + NOTICE_TTL)
      return updated
    })
  }

  private enqueueCancel(row: TaskRow, reason: string | null): void {
    const msg = message(TaskMessage.Kind.CANCEL, row.id, row.priority, this.now(), {
      state: TaskMessage.State.CANCELED,
      reason: reason ?? '',
    })
    this.enqueue(row.peer, msg, this.now() + NOTICE_TTL)
  }

  /** This agent withdraws a task it delegated. An undelivered task is simply not sent. */
  cancel(row: TaskRow, reason: string | null): TaskRow {
    if (row.direction !== 'sent')
      throw new TaskError('not_yours', `task ${row.id} was not delegated by this agent`)
    return this.tx(() => {
      // the stored state, not the caller's copy: an answer may have arrived meanwhile
      const current = this.get(row.direction, row.peer, row.id)
      if (current == null) throw new TaskError('not_found', `no task ${row.id}`)
      if (TERMINAL.has(current.state))
        throw new TaskError('final', `task ${row.id} is already ${current.state}`)
      const undelivered = this.stmt.outboxForTask!.all(row.peer, row.id, TaskMessage.Kind.DELEGATE) as Row[]
      for (const r of undelivered) this.stmt.deleteOutbox!.run(r.msg_id as string)
      // (a DELEGATE already in flight is handled in acked())
      if (undelivered.length === 0) this.enqueueCancel(current, reason)
      return this.setState(current, 'canceled', current.result, reason)
    })
  }

  /** A DELEGATE from `peer`: stored with its inbox event, unless seen before or over the sender's quota. */
  receiveDelegate(peer: string, peerName: string, msg: TaskMessage, maxPending: number): ReceiveResult {
    return this.tx(() => {
      if (this.get('received', peer, msg.taskId) != null) return { status: 'duplicate' }
      const expiresAt = Number(msg.expiresAt)
      if (expiresAt <= this.now()) return { status: 'rejected', reason: 'the task expired before it arrived' }
      const pending = Number((this.stmt.pending!.get(peer) as { n: number }).n)
      if (pending >= maxPending) {
        return {
          status: 'rejected',
          reason: `inbox full: ${pending} tasks from you are still open (limit ${maxPending})`,
        }
      }
      const now = this.now()
      // built, not read back: the wire's texts were decoded strictly (well-formed UTF-8)
      const row: TaskRow = {
        id: msg.taskId,
        direction: 'received',
        peer,
        peerName,
        task: msg.task,
        context: msg.context === '' ? null : msg.context,
        priority: priorityFromWire(msg.priority),
        state: 'delivered',
        result: null,
        reason: null,
        createdAt: Number(msg.createdAt) || now,
        updatedAt: now,
        expiresAt,
        fromAgent: msg.fromHostedAgent ?? null,
        toAgent: msg.toHostedAgent ?? null,
      }
      this.stmt.insertTask!.run(...insertValues(row))
      this.onEvent({ type: 'task', row })
      return { status: 'stored', row }
    })
  }

  /** An UPDATE (the assignee's answer) or CANCEL (the delegator's withdrawal) from `peer`. */
  receiveNotice(peer: string, msg: TaskMessage): ReceiveResult {
    const direction = msg.kind === TaskMessage.Kind.UPDATE ? 'sent' : 'received'
    return this.tx(() => {
      if (this.stmt.seen!.get(peer, msg.msgId) != null) return { status: 'duplicate' }
      const row = this.get(direction, peer, msg.taskId)
      if (row == null) {
        return { status: 'rejected', reason: `no task ${msg.taskId} between us` }
      }
      const state = msg.kind === TaskMessage.Kind.CANCEL ? 'canceled' : stateFromWire(msg.state)
      if (state == null) return { status: 'rejected', reason: 'update without a valid state' }
      this.stmt.markSeen!.run(peer, msg.msgId, this.now())
      if (row.direction === 'sent' && row.state === 'canceled') {
        // the assignee is working on a task we canceled: our DELEGATE arrived although its ack was
        // lost after we withdrew it, so no CANCEL went out. Send one now.
        const queued = this.stmt.outboxForTask!.all(peer, row.id, TaskMessage.Kind.CANCEL) as Row[]
        if (queued.length === 0 && !TERMINAL.has(state)) this.enqueueCancel(row, row.reason)
      }
      // terminal states are final; out-of-order updates never move a task backwards
      if (TERMINAL.has(row.state) || RANK[state] < RANK[row.state]) return { status: 'duplicate' }
      const reason = msg.reason === '' ? null : msg.reason
      const result = msg.kind === TaskMessage.Kind.UPDATE ? msg.result : row.result
      const updated = this.setState(row, state, result, reason)
      if (updated.direction === 'sent') {
        // an answer means the DELEGATE arrived, even if its ack was lost
        for (const r of this.stmt.outboxForTask!.all(peer, row.id, TaskMessage.Kind.DELEGATE) as Row[]) {
          this.stmt.deleteOutbox!.run(r.msg_id as string)
        }
      }
      this.onEvent({ type: 'task_update', row: updated })
      return { status: 'stored', row: updated }
    })
  }

  /** Messages due for (re)sending, oldest first. */
  due(limit: number): OutboxRow[] {
    return (this.stmt.due!.all(this.now(), limit) as Row[]).map(toOutbox)
  }

  /** When the next message is due, if any. */
  nextDue(): number | undefined {
    const t = (this.stmt.nextDue!.get() as { t: number | null }).t
    return t == null ? undefined : Number(t)
  }

  /** Peers with messages due at `now`. */
  duePeers(now = this.now()): string[] {
    return (this.stmt.duePeers!.all(now) as Array<{ peer: string }>).map((r) => r.peer)
  }

  /** Messages to `peer` due for (re)sending at `now`, oldest first. */
  dueFor(peer: string, limit: number, now = this.now()): OutboxRow[] {
    return (this.stmt.dueFor!.all(peer, now, limit) as Row[]).map(toOutbox)
  }

  /**
   * When the delivery loop must next wake: the first retry due after `now`, or the first expiry.
   * Messages due at `now` are not counted: the loop's pass at `now` has handed them over (it is also
   * handed every new one). A pass reads the clock once for both, or a retry falling due between its
   * two readings would be counted by neither.
   */
  nextWake(now = this.now()): number | undefined {
    const retry = (this.stmt.nextRetry!.get(now) as { t: number | null }).t
    const expiry = (this.stmt.nextExpiry!.get() as { t: number | null }).t
    const times = [retry, expiry].filter((t): t is number => t != null).map(Number)
    return times.length === 0 ? undefined : Math.min(...times)
  }

  /** The peer acknowledged: the message is done, and a DELEGATE makes the task `delivered`. */
  acked(msg: OutboxRow): TaskRow | undefined {
    return this.tx(() => {
      this.stmt.deleteOutbox!.run(msg.msgId)
      if (msg.kind !== TaskMessage.Kind.DELEGATE) return undefined
      const row = this.get('sent', msg.peer, msg.taskId)
      if (row?.state === 'canceled') {
        // canceled while this DELEGATE was in flight: the peer has the task now, so tell it
        const queued = this.stmt.outboxForTask!.all(row.peer, row.id, TaskMessage.Kind.CANCEL)
        if (queued.length === 0) this.enqueueCancel(row, row.reason)
        return undefined
      }
      if (row == null || row.state !== 'submitted') return undefined
      return this.setState(row, 'delivered', null, null)
    })
  }

  /** The peer refused the message for good: a refused DELEGATE makes the task `rejected`. */
  refused(msg: OutboxRow, reason: string): TaskRow | undefined {
    return this.tx(() => {
      this.stmt.deleteOutbox!.run(msg.msgId)
      if (msg.kind !== TaskMessage.Kind.DELEGATE) return undefined
      const row = this.get('sent', msg.peer, msg.taskId)
      if (row == null || TERMINAL.has(row.state)) return undefined
      const updated = this.setState(row, 'rejected', null, reason)
      this.onEvent({ type: 'task_update', row: updated })
      return updated
    })
  }

  retryLater(msg: OutboxRow, nextAt: number, error: string): void {
    this.stmt.failed!.run(nextAt, error.slice(0, 500), msg.msgId)
  }

  /** Makes every message to `peer` due now (it just connected). */
  kick(peer: string): number {
    const now = this.now()
    return Number(this.stmt.kickPeer!.run(now, peer, now).changes)
  }

  /**
   * Drops messages whose time is up. An undelivered task becomes `expired` and its delegator is told;
   * a response or cancellation that never got through is dropped (and reported to the caller).
   */
  expire(): Array<{ msg: OutboxRow; row?: TaskRow }> {
    const now = this.now()
    return this.tx(() => {
      const out: Array<{ msg: OutboxRow; row?: TaskRow }> = []
      for (const r of this.stmt.expiredOutbox!.all(now) as Row[]) {
        const msg = toOutbox(r)
        this.stmt.deleteOutbox!.run(msg.msgId)
        let row: TaskRow | undefined
        if (msg.kind === TaskMessage.Kind.DELEGATE) {
          const task = this.get('sent', msg.peer, msg.taskId)
          if (task != null && task.state === 'submitted') {
            const last = (r.last_error as string | null) ?? 'the agent could not be reached'
            row = this.setState(task, 'expired', null, `not delivered before its TTL ran out (${last})`)
            this.onEvent({ type: 'task_update', row })
          }
        }
        out.push({ msg, row })
      }
      this.stmt.forget!.run(now - SEEN_RETENTION)
      return out
    })
  }

  /** A fresh message id, e.g. for tests that replay messages. */
  static newId(): string {
    return newId()
  }
}
