// SendMessage to a mesh agent: the SDK's request handler, with an executor that delegates a durable
// mesh task (same id as the A2A task) and follows it until it is final.
import {
  type AgentCard,
  type Message,
  type SendMessageRequest,
  type StreamResponse,
  type Task,
  TaskState,
} from '@a2a-js/sdk'
import { RequestMalformedError, TaskNotFoundError, UnsupportedOperationError } from '@a2a-js/sdk/errors'
import {
  AgentEvent,
  type AgentExecutor,
  DefaultRequestHandler,
  type ExecutionEventBus,
  type RequestContext,
  type ServerCallContext,
} from '@a2a-js/sdk/server'
import type { ClawLinkNode } from '../core/index.js'
import { TaskError, type TaskRow, TERMINAL } from '../protocols/tasks/index.js'
import { MAX_TTL } from '../rules/limits.js'
import type { Followers, MeshBusManager } from './follow.js'
import { messageText, taskOf, textPart } from './mapping.js'
import type { PushOutbox } from './push.js'
import { type MeshPushStore, type MeshTaskStore, sentRow } from './sdk-stores.js'
import type { BridgeStore } from './store.js'

export interface BridgeParts {
  node: ClawLinkNode
  store: BridgeStore
  taskStore: MeshTaskStore
  pushStore: MeshPushStore
  buses: MeshBusManager
  followers: Followers
  push: PushOutbox
}

/**
 * `metadata.clawlink.ttl` of a SendMessage: how long (seconds) the mesh tries to deliver the task
 * before it expires; the mesh's default without it.
 */
export function requestedTtl(metadata: Record<string, unknown> | undefined): number | undefined {
  const own = metadata?.clawlink
  const ttl = own != null && typeof own === 'object' ? (own as Record<string, unknown>).ttl : undefined
  if (ttl == null) return undefined
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0 || ttl * 1000 > MAX_TTL)
    throw new RequestMalformedError(
      `metadata.clawlink.ttl must be a number of seconds, more than 0 and at most ${MAX_TTL / 1000}`,
    )
  return Math.ceil(ttl * 1000)
}

function refusedTask(ctx: RequestContext, reason: string): Task {
  const message = {
    ...ctx.userMessage,
    messageId: `${ctx.taskId}-refused`,
    role: 2,
    parts: [textPart(reason)],
  }
  return {
    id: ctx.taskId,
    contextId: ctx.contextId,
    status: { state: TaskState.TASK_STATE_FAILED, message, timestamp: new Date().toISOString() },
    artifacts: [],
    history: [ctx.userMessage],
    metadata: {},
  }
}

export class MeshExecutor implements AgentExecutor {
  constructor(
    private readonly parts: BridgeParts,
    /** the mesh agent this endpoint delegates to: `to` as delegate takes it, and its name */
    private readonly agent: { to: string; name: string },
  ) {}

  async execute(ctx: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const { node, store, followers, push } = this.parts
    if (ctx.task != null) {
      // a follow-up: MeshRequestHandler delivered it as a reply already; show the task and follow it on
      const row = sentRow(node, ctx.taskId)
      if (row == null) throw new TaskNotFoundError(`Task not found: ${ctx.taskId}`)
      bus.publish(AgentEvent.task(taskOf(row, ctx.contextId)))
      await followers.follow(row.id, ctx.contextId, bus, row)
      return
    }
    const text = messageText(ctx.userMessage)
    let row: TaskRow
    try {
      const ttl = requestedTtl(ctx.request.metadata)
      row = await node.taskService.delegate({ id: ctx.taskId, to: this.agent.to, task: text, ttl })
    } catch (err) {
      // the mesh refused it (say, the name became ambiguous): a failed task, not an executor crash
      // (which the SDK would print with its stack)
      const reason = `the mesh refused the task: ${(err as Error).message}`
      bus.publish(AgentEvent.task(refusedTask(ctx, reason)))
      return
    }
    store.addTask({
      taskId: row.id,
      contextId: ctx.contextId,
      agent: this.agent.name,
      createdAt: row.createdAt,
    })
    bus.publish(AgentEvent.task(taskOf(row, ctx.contextId)))
    push.stateChanged(row)
    await followers.follow(row.id, ctx.contextId, bus, row)
  }

  /** Cancels the mesh task (its agent is told, durably). */
  async cancelTask(taskId: string, _bus: ExecutionEventBus): Promise<void> {
    const { node } = this.parts
    if (sentRow(node, taskId) == null) return
    // its push and the followers' update come from the task:changed event (see index.ts)
    await node.taskService.cancel(taskId, 'canceled by the A2A client')
  }
}

/**
 * The SDK's DefaultRequestHandler for one mesh agent, with checks the mesh needs before a task exists
 * (text within the mesh's limit), and follow-up messages (a `taskId`) delivered to the task's agent as
 * a mesh `reply` before the SDK runs the executor, so a reply the mesh refuses is an error of the call,
 * not a failed task.
 */
export class MeshRequestHandler extends DefaultRequestHandler {
  constructor(
    card: AgentCard,
    private readonly parts: BridgeParts,
    private readonly agent: { to: string; name: string },
    /** set for an endpoint that takes no new task, the reason it gives */
    private readonly refuse?: string,
  ) {
    super(card, parts.taskStore, new MeshExecutor(parts, agent), parts.buses, parts.pushStore, parts.push)
    this.maxSize = parts.node.options.maxTaskSize
  }

  private readonly maxSize: number

  override async sendMessage(
    params: SendMessageRequest,
    context: ServerCallContext,
  ): Promise<Message | Task> {
    this.check(params)
    await this.followUp(params)
    return super.sendMessage(params, context)
  }

  override async *sendMessageStream(
    params: SendMessageRequest,
    context: ServerCallContext,
  ): AsyncGenerator<StreamResponse, void, undefined> {
    this.check(params)
    await this.followUp(params)
    yield* super.sendMessageStream(params, context)
  }

  private check(params: SendMessageRequest): void {
    if (this.refuse != null) throw new UnsupportedOperationError(this.refuse)
    const msg = params.message
    if (msg == null) throw new RequestMalformedError('message is required')
    // the SDK checks it too, but only after a follow-up has been delivered
    if (msg.messageId === '') throw new RequestMalformedError('message.messageId is required.')
    if (msg.taskId === '') requestedTtl(params.metadata)
    const text = messageText(msg)
    if (text.trim() === '') throw new RequestMalformedError('the message has no text or data part')
    if (Buffer.byteLength(text) > this.maxSize)
      throw new RequestMalformedError(
        `the message is larger than the mesh's task limit of ${this.maxSize} bytes`,
      )
  }

  /**
   * A message on an existing task: its text goes to the task's agent as a reply (durable, exactly
   * once; a question answered makes the task working again). A task that is unknown, final or of
   * another context is left to the SDK, which refuses it with its own errors (TaskNotFound,
   * UnsupportedOperation "in a terminal state", InvalidParams "contextId mismatch").
   */
  private async followUp(params: SendMessageRequest): Promise<void> {
    const msg = params.message!
    if (msg.taskId === '') return
    const { node, store, push } = this.parts
    const bridged = store.task(msg.taskId)
    const row = bridged != null ? sentRow(node, msg.taskId) : undefined
    if (bridged == null || row == null || TERMINAL.has(row.state)) return
    if (msg.contextId !== '' && msg.contextId !== bridged.contextId) return
    if (bridged.agent !== this.agent.name)
      throw new RequestMalformedError(
        `task ${row.id} was sent to agent ${bridged.agent}, not ${this.agent.name}: send the follow-up to its endpoint`,
      )
    let updated: TaskRow
    try {
      updated = await node.taskService.reply(row.id, messageText(msg), row.peer)
    } catch (err) {
      if (!(err instanceof TaskError)) throw err
      if (err.code === 'final')
        throw new UnsupportedOperationError(`Task ${row.id} is in a terminal state and cannot be modified.`)
      throw new UnsupportedOperationError(`the follow-up cannot be delivered as a reply: ${err.message}`)
    }
    if (updated.state !== row.state) push.stateChanged(updated)
  }
}
