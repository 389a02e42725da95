// Push notifications for bridged tasks: every state change is written to a durable outbox (in the
// transaction that stores the change, when it comes from the mesh), then POSTed to each webhook of the
// task until it answers 2xx: at-least-once, retried with backoff, across restarts. Each call carries
// its event id (X-A2A-Event-Id, the same on every retry), so a webhook can drop a duplicate.
import { randomUUID } from 'node:crypto'
import type { StreamResponse } from '@a2a-js/sdk'
import { type PushNotificationSender, V1PushNotificationSerializer } from '@a2a-js/sdk/server'
import type { ClawLinkNode } from '../core/index.js'
import type { TaskRow } from '../protocols/tasks/index.js'
import { statusOf } from './mapping.js'
import type { MeshPushStore } from './sdk-stores.js'
import type { BridgeStore, PushRow } from './store.js'

export const EVENT_ID_HEADER = 'X-A2A-Event-Id'

export interface PushTimings {
  /** first retry after this many ms, doubling up to `maxDelay` */
  baseDelay?: number
  maxDelay?: number
  /** a call that gets no answer in this many ms failed */
  timeout?: number
  /** after this many failed calls the event is dropped (logged) */
  maxAttempts?: number
}

const BATCH = 20

export class PushOutbox implements PushNotificationSender {
  private readonly serializer = new V1PushNotificationSerializer()
  private timer?: NodeJS.Timeout
  private running = false
  private stopped = false
  private readonly t: Required<PushTimings>

  constructor(
    private readonly node: ClawLinkNode,
    private readonly store: BridgeStore,
    private readonly configs: MeshPushStore,
    timings: PushTimings = {},
  ) {
    this.t = { baseDelay: 1000, maxDelay: 300_000, timeout: 10_000, maxAttempts: 15, ...timings }
  }

  /** Queues the task's current state for each of its webhooks; inside or outside a transaction. */
  stateChanged(row: TaskRow): void {
    if (row.direction !== 'sent') return
    const bridged = this.store.task(row.id)
    if (bridged == null) return
    const configs = this.configs.configs(row.id)
    if (configs.length === 0) return
    const event: StreamResponse = {
      payload: {
        $case: 'statusUpdate',
        value: {
          taskId: row.id,
          contextId: bridged.contextId,
          status: statusOf(row, bridged.contextId),
          metadata: {},
        },
      },
    }
    const { body } = this.serializer.serialize(event)
    const now = Date.now()
    for (const c of configs) this.store.enqueue(randomUUID(), row.id, c.id, body, now)
    this.node.store.afterCommit(() => this.kick())
  }

  /**
   * The SDK's hook: it sees only the events of a request in flight (and none after a restart), so the
   * outbox is filled from the mesh's own state changes instead (stateChanged) and this does nothing.
   */
  async send(): Promise<void> {}

  start(): void {
    this.kick()
  }

  stop(): void {
    this.stopped = true
    if (this.timer != null) clearTimeout(this.timer)
  }

  private kick(): void {
    if (this.stopped || this.running) return
    if (this.timer != null) clearTimeout(this.timer)
    this.timer = undefined
    this.running = true
    this.drain()
      .catch((err: Error) =>
        this.node.log.emit('a2a_push_error', { message: err.message }, `A2A push: ${err.message}`, 'warn'),
      )
      .finally(() => {
        this.running = false
        this.schedule()
      })
  }

  private schedule(): void {
    if (this.stopped) return
    const next = this.store.nextDue()
    if (next == null) return
    this.timer = setTimeout(() => this.kick(), Math.max(0, next - Date.now()))
    this.timer.unref()
  }

  private async drain(): Promise<void> {
    for (;;) {
      const due = this.store.due(Date.now(), BATCH)
      if (due.length === 0 || this.stopped) return
      await Promise.all(due.map((row) => this.post(row)))
    }
  }

  private async post(row: PushRow): Promise<void> {
    const config = this.configs.configs(row.taskId).find((c) => c.id === row.configId)
    // the client deleted the webhook: nothing left to tell
    if (config == null) return this.store.done(row.eventId)
    const headers: Record<string, string> = {
      'Content-Type': 'application/a2a+json',
      [EVENT_ID_HEADER]: row.eventId,
    }
    if (config.authentication != null && config.authentication.scheme !== '')
      headers.Authorization = `${config.authentication.scheme} ${config.authentication.credentials}`
    else if (config.token !== '') headers['X-A2A-Notification-Token'] = config.token
    let error: string
    try {
      const res = await fetch(config.url, {
        method: 'POST',
        headers,
        body: row.body,
        redirect: 'error',
        signal: AbortSignal.timeout(this.t.timeout),
      })
      await res.body?.cancel()
      if (res.ok) return this.store.done(row.eventId)
      error = `HTTP ${res.status}`
    } catch (err) {
      error = (err as Error).message
    }
    if (this.stopped) return
    const attempts = row.attempts + 1
    if (attempts >= this.t.maxAttempts) {
      this.store.done(row.eventId)
      this.node.log.emit(
        'a2a_push_dropped',
        { task: row.taskId, event_id: row.eventId, attempts, error },
        `A2A push for task ${row.taskId} dropped after ${attempts} failed calls (${error})`,
        'warn',
      )
      return
    }
    const delay = Math.min(this.t.maxDelay, this.t.baseDelay * 2 ** row.attempts)
    this.store.retry(row.eventId, Date.now() + delay, error)
    this.node.log.emit(
      'a2a_push_retry',
      { task: row.taskId, event_id: row.eventId, attempts, error, retry_in_ms: delay },
      `A2A push for task ${row.taskId} failed (${error}); retry in ${delay} ms`,
      'warn',
    )
  }
}
