import type { Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import { TypedEventEmitter } from 'main-event'
import { GroupCommit } from '../../store/group-commit.js'
import { RateLimiter } from '../rate-limiter.js'
import { decodeStrict } from '../strings.js'
import {
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
} from './constants.js'
import { Delivery } from './delivery.js'
import { InvalidTaskMessageError, TaskError } from './errors.js'
import { type FrameOutcome, Inbound } from './inbound.js'
import type { TasksComponents, TasksEvents, TasksInit } from './index.js'
import { answerLocal, cancelLocal, delegateLocal, type HandOver } from './local-tasks.js'
import { TaskMessage } from './pb/task.js'
import { receiveReply, reply, replyLocal } from './replies.js'
import { type DelegateInput, type TaskRow, type TaskStore, TERMINAL } from './task-store.js'
import type { TaskState } from './types.js'
import { taskSize, validateMessage } from './validate.js'

/** Room in a frame for its seq and the message's length prefix. */
const FRAME_OVERHEAD = 32

/**
 * Tasks: durable store-and-forward delegation. Messages (DELEGATE, UPDATE, CANCEL) to a peer are
 * pipelined on one long-lived channel and acknowledged, many at a time, only after the receiver's group
 * commit holds them; the sender keeps each in its outbox and retries with backoff, and at once when the
 * peer connects, until acked or expired. The delivery loop is driven by events (a committed outbox row,
 * a peer connecting, an ack freeing the window) and a timer for the next retry or expiry.
 */
export class Tasks extends TypedEventEmitter<TasksEvents> implements Startable {
  readonly protocol: string
  readonly maxTaskSize: number
  /** the group commit every write of the tasks service goes through */
  readonly commits: GroupCommit
  private readonly components: TasksComponents
  private readonly store: TaskStore
  private readonly maxPending: number
  private readonly nameOf: (peer: string) => string | undefined
  private readonly canAck: () => boolean
  private readonly log: Logger
  private readonly delivery: Delivery
  private readonly waiters = new Map<string, Set<(row: TaskRow) => void>>()
  private readonly messageRate: RateLimiter
  private readonly throttledAt = new Map<string, number>()
  private readonly byteRate: RateLimiter
  private offOutbox?: () => void
  private started = false

  constructor(components: TasksComponents, init: TasksInit) {
    super()
    this.components = components
    this.store = init.store
    this.commits = init.commits ?? new GroupCommit(init.store.db)
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
    this.delivery = new Delivery({
      store: this.store,
      protocol: this.protocol,
      connectionManager: components.connectionManager,
      channelIdle: init.channelIdle,
      log: this.log,
      write: (fn) => this.write(fn),
      dispatch: (type, detail) => this.safeDispatch(type, detail),
      changed: (row) => this.changed(row),
    })
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
    this.offOutbox = this.store.onOutbox((row) => this.delivery.offer(row))
    this.started = true
  }

  afterStart(): void {
    this.delivery.start()
  }

  async stop(): Promise<void> {
    this.started = false
    this.offOutbox?.()
    this.delivery.stop()
    this.components.events.removeEventListener('peer:connect', this.onConnect)
    await this.components.registrar.unhandle(this.protocol)
  }

  isStarted(): boolean {
    return this.started
  }

  // ---- the agent's side: each resolves once the group commit holding it is done ----

  async delegate(input: DelegateInput): Promise<TaskRow> {
    this.checkTask(input)
    const row = await this.write(() => this.store.delegate(input))
    this.changed(row)
    return row
  }

  async respond(
    row: TaskRow,
    state: TaskState,
    result: string,
    reason: string | null = null,
  ): Promise<TaskRow> {
    this.checkResult(result)
    const updated = await this.write(() => this.store.respond(row, state, result, reason))
    this.changed(updated)
    return updated
  }

  /** The delegator's message on a task it sent (the answer to an `input-required` question). */
  async reply(row: TaskRow, text: string): Promise<TaskRow> {
    if (text.trim() === '') throw new TaskError('invalid', 'the reply is empty')
    this.checkResult(text)
    const updated = await this.write(() => reply(this.store, row, text))
    this.changed(updated)
    return updated
  }

  /** A reply on a local task, handed to its hosted agent in the same transaction. */
  async replyLocal(
    row: TaskRow,
    text: string,
    hand: (row: TaskRow, text: string) => boolean,
  ): Promise<TaskRow> {
    if (text.trim() === '') throw new TaskError('invalid', 'the reply is empty')
    this.checkResult(text)
    const updated = await this.write(() => replyLocal(this.store, row, text, hand))
    this.changed(updated)
    return updated
  }

  async cancel(row: TaskRow, reason: string | null): Promise<TaskRow> {
    const updated = await this.write(() => this.store.cancel(row, reason))
    this.changed(updated)
    return updated
  }

  // ---- local tasks: for an agent hosted by this node itself (see local-tasks.ts) ----

  async delegateLocal(input: DelegateInput, hand: HandOver): Promise<TaskRow> {
    this.checkTask(input)
    const row = await this.write(() => delegateLocal(this.store, input, hand))
    this.changed(row)
    this.safeDispatch('task:delivered', row)
    return row
  }

  /** The hosted agent's answer to a local task. */
  async answerLocal(row: TaskRow, state: TaskState, result: string, reason: string | null): Promise<TaskRow> {
    this.checkResult(result)
    const updated = await this.write(() => answerLocal(this.store, row, state, result, reason))
    this.changed(updated)
    this.safeDispatch('task:updated', updated)
    return updated
  }

  async cancelLocal(row: TaskRow, reason: string | null, hand: HandOver): Promise<TaskRow> {
    const updated = await this.write(() => cancelLocal(this.store, row, reason, hand))
    this.changed(updated)
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

  private checkTask(input: DelegateInput): void {
    if (input.task.trim() === '') throw new TaskError('invalid', 'the task text is empty')
    const size = taskSize(input.task, input.context)
    if (size > this.maxTaskSize) {
      throw new TaskError('too_large', `task and context are ${size} bytes; the limit is ${this.maxTaskSize}`)
    }
  }

  private checkResult(result: string): void {
    const size = Buffer.byteLength(result, 'utf8')
    if (size > this.maxTaskSize)
      throw new TaskError('too_large', `the result is ${size} bytes; the limit is ${this.maxTaskSize}`)
  }

  /** Runs a task store write in the next group commit. */
  private write<T>(fn: () => T): Promise<T> {
    return this.commits.run(() => this.store.joining(fn))
  }

  // ---- delivery ----

  private onConnect(evt: CustomEvent<PeerId>): void {
    this.kick(evt.detail.toString())
  }

  /** Retry a peer's messages now (it connected, or came online). */
  kick(peer: string): void {
    this.delivery.kick(peer)
  }

  // ---- receiving ----

  private async handleStream(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const inbound = new Inbound({
      stream,
      peer,
      maxFrame: this.maxTaskSize + MESSAGE_OVERHEAD + FRAME_OVERHEAD,
      log: this.log,
      admit: (bytes) => this.admit(peer, bytes),
      handle: (message) => this.receive(peer, message),
      invalid: (reason) => this.safeDispatch('message:invalid', { peer, reason }),
      canAck: this.canAck,
    })
    await inbound.run()
  }

  /** Waits while the peer is over its message or byte rate: its frames are not read meanwhile. */
  private async admit(peer: string, bytes: number): Promise<void> {
    while (this.started && !this.messageRate.take(peer)) await this.throttled(peer)
    while (this.started && !this.byteRate.take(peer, bytes)) await this.throttled(peer)
  }

  /** One message from a channel: checked, then stored in the next group commit. */
  private async receive(peer: string, bytes: Uint8Array): Promise<FrameOutcome> {
    let msg: TaskMessage
    try {
      try {
        // strict: text that is not UTF-8 is refused, not turned into other text
        msg = decodeStrict(TaskMessage, bytes)
      } catch (err) {
        throw new InvalidTaskMessageError(`malformed message: ${(err as Error).message}`)
      }
      validateMessage(msg, this.maxTaskSize)
    } catch (err) {
      const reason = (err as Error).message
      this.safeDispatch('message:invalid', { peer, reason })
      return { refused: reason }
    }
    const name = this.nameOf(peer) ?? peer.slice(0, 16)
    const info = { peer, taskId: msg.taskId, kind: msg.kind }
    let result: ReturnType<TaskStore['receiveNotice']>
    try {
      result = await this.write(() =>
        msg.kind === TaskMessage.Kind.DELEGATE
          ? this.store.receiveDelegate(peer, name, msg, this.maxPending)
          : msg.kind === TaskMessage.Kind.REPLY
            ? receiveReply(this.store, peer, msg)
            : this.store.receiveNotice(peer, msg),
      )
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err))
      this.safeDispatch('store:failed', { ...info, error })
      return { failed: error }
    }
    if (result.status === 'rejected') {
      this.safeDispatch('message:rejected', { ...info, reason: result.reason })
      return { refused: result.reason }
    }
    if (result.status === 'stored') {
      this.changed(result.row)
      if (msg.kind === TaskMessage.Kind.REPLY) this.safeDispatch('task:replied', result.row)
      else
        this.safeDispatch(
          msg.kind === TaskMessage.Kind.DELEGATE ? 'task:received' : 'task:updated',
          result.row,
        )
    }
    return {}
  }

  private throttled(peer: string): Promise<void> {
    const last = this.throttledAt.get(peer) ?? 0
    if (Date.now() - last >= 10_000) {
      this.throttledAt.set(peer, Date.now())
      this.safeDispatch('message:throttled', { peer })
    }
    return new Promise((resolve) => setTimeout(resolve, 20))
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
