import type { Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { TypedEventEmitter } from 'main-event'
import { RateLimiter } from '../rate-limiter.js'
import { decodeStrict } from '../strings.js'
import {
  MAX_ACK_SIZE,
  MAX_IN_FLIGHT_PER_PEER,
  MAX_INBOUND_STREAMS,
  MAX_OUTBOUND_STREAMS,
  MAX_PENDING_PER_SENDER,
  MAX_TASK_SIZE,
  MESSAGE_OVERHEAD,
  PEER_BYTE_RATE,
  PEER_MESSAGE_BURST,
  PEER_MESSAGE_RATE,
  PROTOCOL_NAME,
  PROTOCOL_PREFIX,
  PROTOCOL_VERSION,
  RETRY_MAX,
  RETRY_MIN,
  SEND_TIMEOUT,
} from './constants.js'
import { InvalidTaskMessageError, TaskError } from './errors.js'
import type { TasksComponents, TasksEvents, TasksInit } from './index.js'
import { TaskAck, TaskMessage } from './pb/task.js'
import { type DelegateInput, type OutboxRow, type TaskRow, type TaskStore, TERMINAL } from './task-store.js'
import type { TaskState } from './types.js'
import { taskSize, validateMessage } from './validate.js'

/**
 * Tasks: durable store-and-forward delegation. Each message (DELEGATE, UPDATE, CANCEL) goes on its own
 * stream and is acknowledged only after the receiver committed it; the sender keeps it in its outbox
 * and retries with backoff, and at once when the peer connects, until acked or expired.
 */
export class Tasks extends TypedEventEmitter<TasksEvents> implements Startable {
  readonly protocol: string
  readonly maxTaskSize: number
  private readonly components: TasksComponents
  private readonly store: TaskStore
  private readonly maxPending: number
  private readonly nameOf: (peer: string) => string | undefined
  private readonly canAck: () => boolean
  private readonly log: Logger
  private readonly inFlight = new Map<string, Set<string>>()
  /** `${peer}/${taskId}` of messages being sent */
  private readonly inFlightTasks = new Set<string>()
  /** when each peer with sends in flight was last kicked (reconnected) */
  private readonly kickedAt = new Map<string, number>()
  private readonly waiters = new Map<string, Set<(row: TaskRow) => void>>()
  private readonly messageRate: RateLimiter
  private readonly throttledAt = new Map<string, number>()
  private readonly byteRate: RateLimiter
  private timer?: ReturnType<typeof setTimeout>
  private timerAt = Number.POSITIVE_INFINITY
  private started = false

  constructor(components: TasksComponents, init: TasksInit) {
    super()
    this.components = components
    this.store = init.store
    this.log = components.logger.forComponent('clawlink:tasks')
    this.protocol = `/${init.protocolPrefix ?? PROTOCOL_PREFIX}/${PROTOCOL_NAME}/${PROTOCOL_VERSION}`
    this.maxTaskSize = init.maxTaskSize ?? MAX_TASK_SIZE
    this.maxPending = init.maxPendingPerSender ?? MAX_PENDING_PER_SENDER
    this.nameOf = init.nameOf ?? (() => undefined)
    this.canAck = init.canAck ?? (() => true)
    const rate = init.peerMessageRate ?? PEER_MESSAGE_RATE
    this.messageRate = new RateLimiter(rate, init.peerMessageRate != null ? rate * 5 : PEER_MESSAGE_BURST)
    const maxMessage = this.maxTaskSize + MESSAGE_OVERHEAD
    this.byteRate = new RateLimiter(
      Math.max(PEER_BYTE_RATE, maxMessage),
      Math.max(4 * PEER_BYTE_RATE, 2 * maxMessage),
    )
    this.handleStream = this.handleStream.bind(this)
    this.onConnect = this.onConnect.bind(this)
  }

  readonly [Symbol.toStringTag] = '@clawlink/tasks'

  async start(): Promise<void> {
    await this.components.registrar.handle(this.protocol, this.handleStream, {
      maxInboundStreams: MAX_INBOUND_STREAMS,
      maxOutboundStreams: MAX_OUTBOUND_STREAMS,
      runOnLimitedConnection: true,
    })
    this.components.events.addEventListener('peer:connect', this.onConnect)
    this.started = true
  }

  afterStart(): void {
    this.schedule(0)
  }

  async stop(): Promise<void> {
    this.started = false
    clearTimeout(this.timer)
    this.timer = undefined
    this.components.events.removeEventListener('peer:connect', this.onConnect)
    await this.components.registrar.unhandle(this.protocol)
  }

  isStarted(): boolean {
    return this.started
  }

  // ---- the agent's side ----

  delegate(input: DelegateInput): TaskRow {
    if (input.task.trim() === '') throw new TaskError('invalid', 'the task text is empty')
    const size = taskSize(input.task, input.context)
    if (size > this.maxTaskSize) {
      throw new TaskError('too_large', `task and context are ${size} bytes; the limit is ${this.maxTaskSize}`)
    }
    const row = this.store.delegate(input)
    this.changed(row)
    this.schedule(0)
    return row
  }

  respond(row: TaskRow, state: TaskState, result: string): TaskRow {
    const size = Buffer.byteLength(result, 'utf8')
    if (size > this.maxTaskSize)
      throw new TaskError('too_large', `the result is ${size} bytes; the limit is ${this.maxTaskSize}`)
    const updated = this.store.respond(row, state, result)
    this.changed(updated)
    this.schedule(0)
    return updated
  }

  cancel(row: TaskRow, reason: string | null): TaskRow {
    const updated = this.store.cancel(row, reason)
    this.changed(updated)
    this.schedule(0)
    return updated
  }

  /** Resolves with the task once it is final, or as it is when `ms` pass or `signal` aborts. */
  async waitFinal(row: TaskRow, ms: number, signal?: AbortSignal): Promise<TaskRow> {
    const key = `${row.direction}/${row.peer}/${row.id}`
    const current = this.store.get(row.direction, row.peer, row.id) ?? row
    if (TERMINAL.has(current.state) || ms <= 0) return current
    return new Promise<TaskRow>((resolve) => {
      const set = this.waiters.get(key) ?? new Set()
      this.waiters.set(key, set)
      const finish = () => {
        clearTimeout(timer)
        set.delete(onChange)
        if (set.size === 0) this.waiters.delete(key)
        signal?.removeEventListener('abort', finish)
        resolve(this.store.get(row.direction, row.peer, row.id) ?? current)
      }
      const onChange = (r: TaskRow) => {
        if (TERMINAL.has(r.state)) finish()
      }
      const timer = setTimeout(finish, ms)
      set.add(onChange)
      signal?.addEventListener('abort', finish)
    })
  }

  // ---- delivery ----

  private onConnect(evt: CustomEvent<PeerId>): void {
    this.kick(evt.detail.toString())
  }

  /** Retry a peer's messages now (it connected, or came online). */
  kick(peer: string): void {
    // a send in flight misses this kick; if it then fails, it retries at once rather than backing off
    if (this.inFlight.has(peer)) this.kickedAt.set(peer, Date.now())
    if (this.store.kick(peer) > 0) this.schedule(0)
  }

  private schedule(delay: number): void {
    if (!this.started) return
    const at = Date.now() + Math.max(0, delay)
    if (this.timer != null && this.timerAt <= at) return
    clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(
      () => {
        this.timer = undefined
        this.timerAt = Number.POSITIVE_INFINITY
        this.pump()
      },
      Math.max(0, delay),
    )
  }

  private pump(): void {
    if (!this.started) return
    try {
      for (const { msg, row } of this.store.expire()) {
        if (row != null) {
          this.changed(row)
          this.safeDispatch('task:expired', row)
        } else {
          this.safeDispatch('notice:dropped', { peer: msg.peer, taskId: msg.taskId, kind: msg.kind })
        }
      }
      // messages about one task go one at a time, in order: a later update never overtakes an earlier one
      const busyTasks = new Set([...this.inFlightTasks])
      for (const msg of this.store.due(2_000)) {
        const set = this.inFlight.get(msg.peer) ?? new Set<string>()
        const taskKey = `${msg.peer}/${msg.taskId}`
        if (set.has(msg.msgId) || set.size >= MAX_IN_FLIGHT_PER_PEER || busyTasks.has(taskKey)) {
          busyTasks.add(taskKey)
          continue
        }
        busyTasks.add(taskKey)
        this.inFlightTasks.add(taskKey)
        set.add(msg.msgId)
        this.inFlight.set(msg.peer, set)
        void this.send(msg).finally(() => {
          set.delete(msg.msgId)
          this.inFlightTasks.delete(taskKey)
          if (set.size === 0 && this.inFlight.get(msg.peer) === set) {
            this.inFlight.delete(msg.peer)
            this.kickedAt.delete(msg.peer)
          }
          this.schedule(0)
        })
      }
    } catch (err) {
      this.log.error('delivery pass failed - %e', err)
    }
    const next = this.store.nextDue()
    // wake for the next due message; at least once a second to expire what is due to expire
    this.schedule(next == null ? 1_000 : Math.min(1_000, Math.max(20, next - Date.now())))
  }

  private async send(msg: OutboxRow): Promise<void> {
    const signal = AbortSignal.timeout(SEND_TIMEOUT)
    const startedAt = Date.now()
    let stream: Stream | undefined
    try {
      const peer = peerIdFromString(msg.peer)
      stream = await this.components.connectionManager.openStream(peer, this.protocol, {
        signal,
        runOnLimitedConnection: true,
      })
      const lp = lpStream(stream, { maxDataLength: MAX_ACK_SIZE })
      await lp.write(msg.payload, { signal })
      const ack = TaskAck.decode(await lp.read({ signal }))
      await stream.close({ signal }).catch(() => {})
      if (!this.started) return
      if (ack.status === TaskAck.Status.OK) {
        const row = this.store.acked(msg)
        if (row != null) {
          this.changed(row)
          this.safeDispatch('task:delivered', row)
        }
        this.safeDispatch('message:acked', { peer: msg.peer, taskId: msg.taskId, kind: msg.kind })
      } else {
        const row = this.store.refused(msg, ack.reason || 'refused')
        if (row != null) this.changed(row)
        this.safeDispatch('message:refused', {
          peer: msg.peer,
          taskId: msg.taskId,
          kind: msg.kind,
          reason: ack.reason,
        })
      }
    } catch (err) {
      const message = describeError(err)
      stream?.abort(err instanceof Error ? err : new Error(message))
      if (!this.started) return
      const attempt = msg.attempts + 1
      // the peer reconnected while this send was failing on the old connection: try the new one now
      const reconnected = (this.kickedAt.get(msg.peer) ?? 0) >= startedAt
      const delay = reconnected
        ? 0
        : Math.min(RETRY_MAX, RETRY_MIN * 2 ** Math.min(16, attempt - 1)) * (0.8 + Math.random() * 0.4)
      this.store.retryLater(msg, Date.now() + delay, message)
      this.safeDispatch('delivery:failed', {
        peer: msg.peer,
        taskId: msg.taskId,
        kind: msg.kind,
        attempt,
        retryInMs: Math.round(delay),
        error: message,
      })
    }
  }

  // ---- receiving ----

  private async handleStream(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const signal = AbortSignal.timeout(SEND_TIMEOUT)
    const max = this.maxTaskSize + MESSAGE_OVERHEAD
    // the read buffer must hold one whole message, which may be configured above the 4 MiB default
    const lp = lpStream(stream, { maxDataLength: max, maxBufferSize: max + 64 * 1024 })
    let ack: TaskAck
    try {
      let msg: TaskMessage
      try {
        const frame = await lp.read({ signal })
        // over its message or byte rate, a peer gets no ack: its node backs off and sends again later
        if (!this.messageRate.take(peer) || !this.byteRate.take(peer, frame.byteLength)) {
          this.throttled(peer)
          stream.abort(new Error('rate limit'))
          return
        }
        // strict: text that is not UTF-8 is refused, not turned into other text
        msg = decodeStrict(TaskMessage, frame)
      } catch (err) {
        if ((err as Error).name === 'InvalidDataLengthError') {
          throw new InvalidTaskMessageError(`message over ${this.maxTaskSize + MESSAGE_OVERHEAD} bytes`)
        }
        if ((err as Error).name === 'AbortError' || (err as Error).name === 'TimeoutError') throw err
        if ((err as Error).name === 'UnexpectedEOFError' || (err as Error).name === 'StreamResetError')
          throw err
        throw new InvalidTaskMessageError(`malformed message: ${(err as Error).message}`)
      }
      validateMessage(msg, this.maxTaskSize)
      const name = this.nameOf(peer) ?? peer.slice(0, 16)
      let result: ReturnType<TaskStore['receiveNotice']>
      try {
        result =
          msg.kind === TaskMessage.Kind.DELEGATE
            ? this.store.receiveDelegate(peer, name, msg, this.maxPending)
            : this.store.receiveNotice(peer, msg)
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err))
        this.safeDispatch('store:failed', { peer, taskId: msg.taskId, kind: msg.kind, error })
        throw err
      }
      if (result.status === 'rejected') {
        ack = { status: TaskAck.Status.REJECTED, reason: result.reason }
        this.safeDispatch('message:rejected', {
          peer,
          taskId: msg.taskId,
          kind: msg.kind,
          reason: result.reason,
        })
      } else {
        ack = { status: TaskAck.Status.OK, reason: '' }
        if (result.status === 'stored') {
          this.changed(result.row)
          this.safeDispatch(
            msg.kind === TaskMessage.Kind.DELEGATE ? 'task:received' : 'task:updated',
            result.row,
          )
        }
      }
    } catch (err) {
      if (!(err instanceof InvalidTaskMessageError)) {
        // not stored (a storage failure, a reset, a timeout): no ack, so the sender tries again
        this.log('receiving from %s failed - %e', peer, err)
        stream.abort(err as Error)
        return
      }
      ack = { status: TaskAck.Status.REJECTED, reason: err.message }
      this.safeDispatch('message:invalid', { peer, reason: err.message })
    }
    // an ack only for what the next start will find: not after the store was removed or replaced
    if (!this.canAck()) {
      stream.abort(new Error('the store is lost; no ack'))
      return
    }
    try {
      await lp.write(TaskAck.encode(ack), { signal })
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err as Error)
    }
  }

  private throttled(peer: string): void {
    const last = this.throttledAt.get(peer) ?? 0
    if (Date.now() - last < 10_000) return
    this.throttledAt.set(peer, Date.now())
    this.safeDispatch('message:throttled', { peer })
  }

  private changed(row: TaskRow): void {
    const set = this.waiters.get(`${row.direction}/${row.peer}/${row.id}`)
    if (set != null) for (const fn of [...set]) fn(row)
    this.safeDispatch('task:changed', row)
  }

  private safeDispatch<K extends keyof TasksEvents>(type: K, detail: TasksEvents[K]['detail']): void {
    try {
      this.safeDispatchEvent(type, { detail })
    } catch (err) {
      this.log.error('tasks listener failed - %e', err)
    }
  }
}

/** A failure's text; streams sometimes reject with an Event (abort, close) rather than an Error. */
function describeError(err: unknown): string {
  if (err instanceof Error) return err.message !== '' ? err.message : err.name
  if (err != null && typeof err === 'object') {
    const e = err as { error?: unknown; type?: unknown }
    if (e.error instanceof Error) return e.error.message
    if (typeof e.type === 'string') return `stream ${e.type}`
  }
  return String(err)
}
