// The sending side's delivery loop: every peer with messages gets a channel (channel.ts). It is driven
// by events, never by scanning the outbox: a committed outbox row is offered to its peer's channel at
// once; a peer connecting, a channel with room again, or a backoff ending offer that peer's due rows
// (an index on peer and due time); a timer wakes for the next retry or expiry (indexes on both).
import type { Logger } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { peerIdFromString } from '@libp2p/peer-id'
import { Channel, type Settled } from './channel.js'
import { MAX_QUEUED_PER_PEER, RETRY_MAX, RETRY_MIN } from './constants.js'
import { describeError } from './errors.js'
import type { TasksEvents } from './index.js'
import { TaskMessage } from './pb/task.js'
import type { OutboxRow, TaskRow, TaskStore } from './task-store.js'

/** The longest the loop sleeps without a retry or expiry due (a safety net, not a scan). */
const MAX_SLEEP = 60_000
/** A channel failing this soon (ms) after its peer reconnected retries after RETRY_MIN. */
const RECENT_KICK = 10_000

export interface DeliveryInit {
  store: TaskStore
  protocol: string
  connectionManager: ConnectionManager
  channelIdle?: number
  log: Logger
  /** runs a task store write in the next group commit */
  write: <T>(fn: () => T) => Promise<T>
  dispatch: <K extends keyof TasksEvents>(type: K, detail: TasksEvents[K]['detail']) => void
  /** a task changed state */
  changed: (row: TaskRow) => void
}

export class Delivery {
  private readonly init: DeliveryInit
  private readonly store: TaskStore
  private readonly channels = new Map<string, Channel>()
  /** peers backing off after a failed channel, until when */
  private readonly backoffUntil = new Map<string, number>()
  /** when each peer was last kicked (reconnected) */
  private readonly kickedAt = new Map<string, number>()
  /** acked or refused messages whose commit is pending: not offered again meanwhile */
  private readonly settling = new Set<string>()
  private timer?: ReturnType<typeof setTimeout>
  private timerAt = Number.POSITIVE_INFINITY
  private started = false

  constructor(init: DeliveryInit) {
    this.init = init
    this.store = init.store
  }

  start(): void {
    this.started = true
    this.schedule(0)
  }

  stop(): void {
    this.started = false
    clearTimeout(this.timer)
    this.timer = undefined
    for (const channel of this.channels.values()) channel.close()
    this.channels.clear()
  }

  private write<T>(fn: () => T): Promise<T> {
    return this.init.write(fn)
  }

  private dispatch<K extends keyof TasksEvents>(type: K, detail: TasksEvents[K]['detail']): void {
    this.init.dispatch(type, detail)
  }

  private changed(row: TaskRow): void {
    this.init.changed(row)
  }

  /** Retry a peer's messages now (it connected, or came online). */
  kick(peer: string): void {
    // a channel failing on the old connection right now retries at once rather than backing off
    this.kickedAt.set(peer, Date.now())
    this.backoffUntil.delete(peer)
    this.store.kick(peer)
    // always: messages queued during the backoff just ended are due but were never handed over, and
    // no timer is set for them (nextWake counts only retries still to come)
    this.refill(peer)
  }

  /**
   * Hands a committed outbox row to its peer's channel, unless the peer is backing off or an older
   * message of the same task has not been handed over yet (it is waiting out its own retry time): the
   * channel keeps order, so a task's messages arrive in the order they were queued, retries included.
   */
  offer(row: OutboxRow): void {
    if (!this.started || this.settling.has(row.msgId)) return
    const until = this.backoffUntil.get(row.peer) ?? 0
    if (until > Date.now()) {
      // held back: the loop wakes when the backoff ends (a timer can fire a little early, libuv
      // counting from the start of the loop turn that set it, so a wake may hold a message back too)
      this.schedule(until - Date.now())
      return
    }
    if (this.waitsForOlder(row)) return
    this.channel(row.peer).offer(row)
  }

  /** An older message of the row's task is in the outbox, neither with the channel nor acked. */
  private waitsForOlder(row: OutboxRow): boolean {
    // a DELEGATE is its task's first message: nothing to wait for, and a burst of them costs no lookup
    if (row.kind === TaskMessage.Kind.DELEGATE) return false
    const channel = this.channels.get(row.peer)
    const older = this.store.stmt.olderOfTask!.all(row.peer, row.taskId, row.msgId) as Array<{
      msg_id: string
    }>
    return older.some(({ msg_id: id }) => channel?.has(id) !== true && !this.settling.has(id))
  }

  /** Offers a peer's messages due at `now` (after a reconnect, a backoff, a full queue). */
  private refill(peer: string, now?: number): void {
    if (!this.started) return
    for (const row of this.store.dueFor(peer, MAX_QUEUED_PER_PEER, now)) this.offer(row)
  }

  private channel(peer: string): Channel {
    let channel = this.channels.get(peer)
    if (channel == null) {
      channel = new Channel({
        peer: peerIdFromString(peer),
        protocol: this.init.protocol,
        connectionManager: this.init.connectionManager,
        idle: this.init.channelIdle,
        log: this.init.log,
        events: {
          settled: (messages) => this.settle(messages),
          failed: (rows, err, startedAt) => this.failed(peer, rows, err, startedAt),
          drained: () => this.refill(peer),
        },
      })
      this.channels.set(peer, channel)
    }
    return channel
  }

  /**
   * An ack frame arrived: what it settled is recorded in one piece of the next group commit (one
   * savepoint and one promise for the lot, not one per message), then reported message by message.
   */
  private settle(messages: Settled[]): void {
    for (const { row } of messages) this.settling.add(row.msgId)
    this.write(() =>
      messages.map(({ row, refusal }) =>
        refusal == null ? this.store.acked(row) : this.store.refused(row, refusal),
      ),
    ).then(
      (rows) => {
        for (const { row } of messages) this.settling.delete(row.msgId)
        if (!this.started) return
        for (const [i, { row: msg, refusal }] of messages.entries()) {
          const row = rows[i]
          const info = { peer: msg.peer, taskId: msg.taskId, kind: msg.kind }
          if (refusal != null) {
            if (row != null) this.changed(row)
            this.dispatch('message:refused', { ...info, reason: refusal })
            continue
          }
          if (row != null) {
            this.changed(row)
            this.dispatch('task:delivered', row)
          }
          this.dispatch('message:acked', info)
        }
      },
      (err: unknown) => {
        // not recorded: the messages stay in the outbox, due, and go again at the next wake (the
        // receiver deduplicates); nothing else would offer them
        for (const { row } of messages) this.settling.delete(row.msgId)
        this.init.log.error('recording an ack failed - %e', err)
        this.schedule(RETRY_MIN)
      },
    )
  }

  /** A channel failed: its messages go back to the retry schedule, with backoff unless it reconnected. */
  private failed(peer: string, rows: OutboxRow[], err: unknown, startedAt: number): void {
    if (!this.started) return
    const error = describeError(err)
    // the peer reconnected while this channel was failing on the old connection: try the new one now
    const reconnected = (this.kickedAt.get(peer) ?? 0) >= startedAt
    const now = Date.now()
    // failing just after the peer came back (its services may still be starting): retry soon, not
    // after the long backoff its messages built up while it was away
    const justBack = now - (this.kickedAt.get(peer) ?? Number.NEGATIVE_INFINITY) < RECENT_KICK
    const delays = rows.map((row) =>
      reconnected
        ? 0
        : Math.min(RETRY_MAX, RETRY_MIN * 2 ** Math.min(16, justBack ? 0 : row.attempts)) *
          (0.8 + Math.random() * 0.4),
    )
    const first = Math.min(...delays)
    if (first > 0) this.backoffUntil.set(peer, now + first)
    this.write(() => {
      for (const [i, row] of rows.entries()) this.store.retryLater(row, now + delays[i]!, error)
    }).then(
      () => {
        if (!this.started) return
        for (const [i, row] of rows.entries()) {
          this.dispatch('delivery:failed', {
            peer: row.peer,
            taskId: row.taskId,
            kind: row.kind,
            attempt: row.attempts + 1,
            retryInMs: Math.round(delays[i]!),
            error,
          })
        }
        if (first === 0) this.refill(peer)
        else this.schedule(first)
      },
      (e: unknown) => {
        // the rows keep their old retry time (due): the next wake offers them
        this.init.log.error('recording a failed delivery failed - %e', e)
        this.schedule(RETRY_MIN)
      },
    )
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
        this.wake()
      },
      Math.max(0, delay),
    )
  }

  /** The timer: expire what is due to expire, and offer what a backoff held back. */
  wake(): void {
    if (!this.started) return
    // one reading of the store's clock for the pass: what is due at it is offered, what is due after
    // it sets the next wake (nextWake), so a retry falling due mid-pass is not missed by both
    const at = this.store.now()
    try {
      for (const { msg, row } of this.store.expire()) {
        if (row != null) {
          this.changed(row)
          this.dispatch('task:expired', row)
        } else {
          this.dispatch('notice:dropped', { peer: msg.peer, taskId: msg.taskId, kind: msg.kind })
        }
      }
      const now = Date.now()
      for (const [peer, until] of this.backoffUntil) if (until <= now) this.backoffUntil.delete(peer)
      for (const peer of this.store.duePeers(at)) this.refill(peer, at)
    } catch (err) {
      this.init.log.error('delivery pass failed - %e', err)
    }
    // messages a backoff held back in this pass set their own wake (offer)
    const next = this.store.nextWake(at)
    this.schedule(next == null ? MAX_SLEEP : Math.min(MAX_SLEEP, Math.max(0, next - Date.now())))
  }
}
