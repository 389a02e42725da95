// A bridged task's updates as SDK execution events, read from the node's watch feed: the executor
// follows the task it delegated, and SubscribeToTask or CancelTask on a task whose SendMessage is gone
// (another request, a restarted node) get a bus that follows it the same way.
import {
  AgentEvent,
  DefaultExecutionEventBusManager,
  type ExecutionEventBus,
  type ExecutionEventBusManager,
  type ServerCallContext,
} from '@a2a-js/sdk/server'
import type { ClawLinkNode } from '../core/index.js'
import { type TaskRow, TERMINAL } from '../protocols/tasks/index.js'
import { resultArtifact, STATE_MAP, statusOf } from './mapping.js'
import { sentRow } from './sdk-stores.js'
import type { BridgeStore } from './store.js'

/**
 * Where an execution ends, as the SDK's event queue sees it: a final state, or a question (the client
 * answers it with a follow-up message, whose execution follows the task on).
 */
export const settled = (row: TaskRow) => TERMINAL.has(row.state) || row.state === 'input-required'

/** What makes an update news to an A2A client: a new A2A state, result or reason (not `delivered`). */
const signature = (row: TaskRow) =>
  `${STATE_MAP[row.state]}\u0000${row.result ?? ''}\u0000${row.reason ?? ''}`

/** Publishes one row's state: its result artifact first, then its status. */
export function publishRow(bus: ExecutionEventBus, row: TaskRow, contextId: string): void {
  const artifact = resultArtifact(row)
  if (artifact != null)
    bus.publish(
      AgentEvent.artifactUpdate({
        taskId: row.id,
        contextId,
        artifact,
        append: false,
        lastChunk: true,
        metadata: {},
      }),
    )
  bus.publish(
    AgentEvent.statusUpdate({ taskId: row.id, contextId, status: statusOf(row, contextId), metadata: {} }),
  )
}

export class Followers {
  private readonly checks = new Map<string, Set<() => void>>()
  private readonly ends = new Set<() => void>()
  /** one follower per bus: a follow-up sharing the bus of a running execution must not publish twice */
  private readonly byBus = new Map<ExecutionEventBus, Promise<void>>()
  private unsubscribe?: () => void

  constructor(private readonly node: ClawLinkNode) {}

  /** One watcher for every follower; internal, so it never counts against the watch limit. */
  start(): void {
    this.unsubscribe = this.node.watchHub.subscribe(
      (e) => {
        if (e.type === 'task_update' && 'id' in e) this.nudge(e.id)
      },
      { internal: true },
    )
  }

  /** Something changed the task outside the watch feed (a cancel by this node). */
  nudge(taskId: string): void {
    for (const fn of [...(this.checks.get(taskId) ?? [])]) fn()
  }

  /**
   * Publishes every change of the task after `seen` on `bus`; resolves once it is final or asks a
   * question (or the bridge stops). A bus already followed is not followed twice.
   */
  follow(taskId: string, contextId: string, bus: ExecutionEventBus, seen?: TaskRow): Promise<void> {
    const known = this.byBus.get(bus)
    if (known != null) return known
    const done = this.followOnce(taskId, contextId, bus, seen).finally(() => this.byBus.delete(bus))
    this.byBus.set(bus, done)
    return done
  }

  private followOnce(
    taskId: string,
    contextId: string,
    bus: ExecutionEventBus,
    seen?: TaskRow,
  ): Promise<void> {
    return new Promise((resolve) => {
      let last = seen != null ? signature(seen) : ''
      const end = () => {
        const set = this.checks.get(taskId)
        set?.delete(check)
        if (set?.size === 0) this.checks.delete(taskId)
        this.ends.delete(end)
        resolve()
      }
      const check = () => {
        const row = sentRow(this.node, taskId)
        if (row == null) return end()
        const sig = signature(row)
        if (sig !== last) {
          last = sig
          publishRow(bus, row, contextId)
        }
        if (settled(row)) end()
      }
      const set = this.checks.get(taskId) ?? new Set()
      this.checks.set(taskId, set)
      set.add(check)
      this.ends.add(end)
      // what changed before we listened
      check()
    })
  }

  stop(): void {
    this.unsubscribe?.()
    for (const end of [...this.ends]) end()
  }
}

/**
 * The SDK's bus manager, plus: a bridged task still open that has no bus (its SendMessage ended, or
 * the node restarted) gets one that follows it, so SubscribeToTask streams and CancelTask settles.
 * At a question the bus ends (as the SDK's streams do there; CancelTask still gets one to act on): the
 * follow-up message that answers it makes a new one.
 */
export class MeshBusManager implements ExecutionEventBusManager {
  private readonly inner = new DefaultExecutionEventBusManager()

  constructor(
    private readonly node: ClawLinkNode,
    private readonly store: BridgeStore,
    private readonly followers: Followers,
  ) {}

  createOrGetByTaskId(taskId: string, context?: ServerCallContext): ExecutionEventBus {
    return this.inner.createOrGetByTaskId(taskId, context)
  }

  getByTaskId(taskId: string, context?: ServerCallContext): ExecutionEventBus | undefined {
    const bus = this.inner.getByTaskId(taskId, context)
    if (bus != null) return bus
    const bridged = this.store.task(taskId)
    const row = bridged != null ? sentRow(this.node, taskId) : undefined
    if (bridged == null || row == null || TERMINAL.has(row.state)) return undefined
    const created = this.inner.createOrGetByTaskId(taskId, context)
    this.followers
      .follow(taskId, bridged.contextId, created, row)
      .then(() => this.end(taskId, created, context))
    return created
  }

  /**
   * The executor returned: its follow ended at a final state or a question, or it refused the task.
   * The bus ends either way (the SDK would keep it at a question, with no one left to feed it).
   */
  settleByTaskId(
    taskId: string,
    bus: ExecutionEventBus,
    _state: unknown,
    context: ServerCallContext,
  ): boolean {
    this.end(taskId, bus, context)
    return true
  }

  private end(taskId: string, bus: ExecutionEventBus, context?: ServerCallContext): void {
    bus.finished()
    // a newer bus of the same task (a follow-up just made it) is not this one's to remove
    if (this.inner.getByTaskId(taskId, context) === bus) this.inner.cleanupByTaskId(taskId, context)
  }

  cleanupByTaskId(taskId: string, context?: ServerCallContext): void {
    this.inner.cleanupByTaskId(taskId, context)
  }
}
