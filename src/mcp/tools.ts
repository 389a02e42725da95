// The MCP tools, each with its name, a description written for the model that will choose it, its input
// schema, and a handler that makes the same control API call as the matching CLI command; the file tools
// are in file-tools.ts, what they are made of in tool.ts.
import * as z from 'zod'
import { TASK_ID_PATTERN } from '../api/task-id.js'
import type { Priority } from '../api/types.js'
import {
  cancelTask,
  delegateTask,
  listKnowledge,
  listPeers,
  listTasks,
  POLL_LEASE,
  PRIORITIES,
  parseSince,
  pollEvents,
  replyTask,
  respondTask,
  sendBroadcast,
  settleEvents,
} from '../client/requests.js'
import {
  MAX_CONTENT_SIZE,
  MAX_CONTEXT_DEPTH,
  MAX_ID_LENGTH,
  MAX_REASON_LENGTH,
  MAX_TAG_LENGTH,
  MAX_TAGS,
  MAX_TASK_SIZE,
  MAX_TOPIC_LENGTH,
  MAX_TTL,
} from '../rules/limits.js'
import { fileGet, fileList, filePut } from './file-tools.js'
import {
  DEFAULT_TEXT_BYTES,
  json,
  MAX_INLINE_CONTENT,
  MAX_TEXT_BYTES,
  MAX_WAIT_SECONDS,
  short,
  type Tool,
  type ToolContext,
  type ToolReply,
  tool,
  waiting,
  waitSeconds,
} from './tool.js'

export {
  DEFAULT_TEXT_BYTES,
  MAX_INLINE_CONTENT,
  MAX_TEXT_BYTES,
  MAX_WAIT_SECONDS,
  type Tool,
  type ToolContext,
  type ToolReply,
}

/**
 * Any JSON value, the type spelt out at the top (no $ref: some clients reject recursive schemas); what
 * nests inside arrays and objects is JSON by construction, and the node checks the depth.
 */
function jsonValue() {
  return z.union([
    z.record(z.string(), z.unknown()),
    z.array(z.unknown()),
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
  ])
}

const discover = tool({
  name: 'discover',
  description:
    'List the other agents in the ClawLink mesh: name, PeerId, capabilities (caps), description, load and ' +
    'status. Use it to find who can do a job before delegating; `cap` keeps only agents with that capability. ' +
    'Agents a node hosts (v1 agents) follow it with kind "hosted" and hostedBy (their node); ' +
    "this node's own hosted agents come first.",
  annotations: {
    title: 'Discover agents',
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: true,
  },
  input: {
    cap: short('only agents with this capability').optional(),
    all: z.boolean().optional().describe('also list stale and offline agents (default: online only)'),
  },
  run: async (a, ctx) => json(await listPeers(ctx.api(), { cap: a.cap, all: a.all, signal: ctx.signal })),
})

const delegate = tool({
  name: 'delegate',
  description:
    'Hand a task to another agent, by name (`to`) or to the least loaded online agent with a capability ' +
    '(`cap`). Returns the task (its `id`, `state`) at once; delivery is durable and retried until the TTL. ' +
    'With `wait_seconds` it returns as soon as the task is final (completed, failed, canceled, rejected, ' +
    'expired) with its `result`, or when the wait ends with the task still open: then check it later with ' +
    '`tasks` or `poll`.',
  annotations: {
    title: 'Delegate a task',
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: true,
  },
  input: {
    id: z
      .string()
      .regex(TASK_ID_PATTERN)
      .optional()
      .describe('a task id you choose; calling again with it returns that task instead of sending a second'),
    to: short(
      'the agent: name, PeerId or PeerId prefix, or a hosted agent id or name (give this or cap)',
    ).optional(),
    cap: short('any online agent with this capability (give this or to)').optional(),
    task: z.string().min(1).max(MAX_TASK_SIZE).describe('what to do, in words the other agent can act on'),
    context: jsonValue()
      .optional()
      .describe(
        `extra data for the task, handed to the other agent as is: any JSON value (an object, an array, a string, a number, true/false or null) nested at most ${MAX_CONTEXT_DEPTH} levels`,
      ),
    priority: z
      .enum(PRIORITIES as [Priority, ...Priority[]])
      .optional()
      .describe('default normal'),
    ttl_seconds: z
      .number()
      .min(1)
      .max(MAX_TTL / 1000)
      .optional()
      .describe('give up delivering after this long (default 24 h)'),
    wait_seconds: waitSeconds('wait for the result'),
  },
  async run(a, ctx) {
    if ((a.to == null) === (a.cap == null)) throw new Error('give exactly one of to and cap')
    const wait = a.wait_seconds ?? 0
    const task = await waiting(
      ctx,
      wait,
      delegateTask(
        ctx.api(),
        {
          id: a.id,
          to: a.to,
          cap: a.cap,
          task: a.task,
          context: a.context === undefined ? undefined : JSON.stringify(a.context),
          priority: a.priority,
          ttl: a.ttl_seconds != null ? Math.round(a.ttl_seconds * 1000) : undefined,
          wait: Math.round(wait * 1000),
        },
        { signal: ctx.signal },
      ),
    )
    return json(task)
  },
})

const poll = tool({
  name: 'poll',
  description:
    'Fetch new events for this agent, most urgent first: `task` (another agent asks you to do something: ' +
    'do it, then call `respond` with its `id`), `task_reply` (the delegator answered your question on a ' +
    'task, in `message`), `task_update` (a task you delegated changed state or has a ' +
    'result), `broadcast` and `file_updated`. Events are marked seen unless `peek`. With `wait_seconds` it ' +
    'returns the moment an event arrives, or an empty list when the wait ends.',
  annotations: {
    title: 'Poll for events',
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: false,
  },
  input: {
    wait_seconds: waitSeconds('wait this long for an event when none is pending'),
    peek: z.boolean().optional().describe('leave the events unseen'),
    limit: z.number().int().min(1).max(1000).optional().describe('at most this many events (default 100)'),
  },
  async run(a, ctx) {
    const wait = a.wait_seconds ?? 0
    const api = ctx.api()
    const events = await waiting(
      ctx,
      wait,
      pollEvents(api, {
        wait: wait * 1000,
        peek: a.peek,
        limit: a.limit,
        lease: POLL_LEASE,
        signal: ctx.signal,
      }),
    )
    // seen once the answer is written; a call cancelled meanwhile leaves them for the next poll (if the
    // node cannot be told either way, its lease hands them out again)
    if (a.peek !== true) ctx.afterAnswer((sent) => void settleEvents(api, events, sent).catch(() => {}))
    return json(events)
  },
})

const respond = tool({
  name: 'respond',
  description:
    'Answer a task another agent gave you (its `id` from `poll`). `status` completed (default) or failed ' +
    'ends the task; rejected declines it; working reports progress and may be sent several times; ' +
    'input-required asks the delegator the question in `result` (its answer comes as a `task_reply` event ' +
    'in `poll`). The result reaches the delegator durably.',
  annotations: {
    title: 'Respond to a task',
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: true,
  },
  input: {
    id: z.string().min(1).max(MAX_ID_LENGTH).describe('the task id'),
    result: z.string().max(MAX_TASK_SIZE).describe('the answer, or the progress report, or why it failed'),
    status: z
      .enum(['working', 'input-required', 'completed', 'failed', 'rejected'])
      .optional()
      .describe('default completed'),
    to: short('the delegator, checked against the task').optional(),
  },
  run: async (a, ctx) =>
    json(
      await respondTask(
        ctx.api(),
        { id: a.id, result: a.result, status: a.status, to: a.to },
        { signal: ctx.signal },
      ),
    ),
})

const reply = tool({
  name: 'reply',
  description:
    'Answer the question of an agent working on a task you delegated: when `poll` shows a `task_update` ' +
    'with state input-required, its `result` is the question; send your answer with the task `id`. It ' +
    'reaches the assignee durably and exactly once (as a `task_reply` event) and the task is working again.',
  annotations: {
    title: 'Reply on a delegated task',
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: true,
  },
  input: {
    id: z.string().min(1).max(MAX_ID_LENGTH).describe('the task id'),
    message: z.string().min(1).max(MAX_TASK_SIZE).describe('the answer to the question'),
    to: short('the assignee, when the id is not unique').optional(),
  },
  run: async (a, ctx) =>
    json(await replyTask(ctx.api(), { id: a.id, message: a.message, to: a.to }, { signal: ctx.signal })),
})

const cancel = tool({
  name: 'cancel',
  description:
    'Withdraw a task you delegated that is no longer needed. It becomes canceled at once; the assignee ' +
    'is told.',
  annotations: {
    title: 'Cancel a delegated task',
    readOnlyHint: false,
    destructiveHint: true,
    idempotentHint: true,
    openWorldHint: true,
  },
  input: {
    id: z.string().min(1).max(MAX_ID_LENGTH).describe('the task id'),
    reason: z.string().max(MAX_REASON_LENGTH).optional().describe('why, for the assignee'),
  },
  run: async (a, ctx) =>
    json(await cancelTask(ctx.api(), { id: a.id, reason: a.reason }, { signal: ctx.signal })),
})

const tasks = tool({
  name: 'tasks',
  description:
    'List tasks this agent sent (direction sent) and received (direction received), newest first, with ' +
    'their state and result. Use it to check on delegated work or to find a task by `id`.',
  annotations: {
    title: 'List tasks',
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  input: {
    open: z
      .boolean()
      .optional()
      .describe('only tasks not yet final (submitted, delivered, working, input-required)'),
    id: z.string().min(1).max(MAX_ID_LENGTH).optional().describe('only the task with this id'),
  },
  run: async (a, ctx) => json(await listTasks(ctx.api(), { open: a.open, id: a.id, signal: ctx.signal })),
})

const broadcast = tool({
  name: 'broadcast',
  description:
    'Tell every agent in the mesh something worth knowing (a finding, a decision, a warning), signed as ' +
    'you. Agents that are away get it when they reconnect; others read it with `knowledge`.',
  annotations: {
    title: 'Broadcast to the mesh',
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: true,
  },
  input: {
    content: z.string().min(1).max(MAX_CONTENT_SIZE).describe('what to say'),
    topic: z.string().min(1).max(MAX_TOPIC_LENGTH).optional().describe('a-z 0-9 . _ - (default general)'),
    tags: z.array(z.string().min(1).max(MAX_TAG_LENGTH)).max(MAX_TAGS).optional().describe('labels'),
  },
  run: async (a, ctx) =>
    json(
      await sendBroadcast(
        ctx.api(),
        { content: a.content, topic: a.topic, tags: a.tags },
        { signal: ctx.signal },
      ),
    ),
})

const knowledge = tool({
  name: 'knowledge',
  description:
    'Read the broadcasts this agent holds, newest first: what other agents have shared. Filter by ' +
    'topic, tag, author or age.',
  annotations: {
    title: 'Read broadcasts',
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  input: {
    topic: z.string().min(1).max(MAX_TOPIC_LENGTH).optional().describe('only this topic'),
    tag: z.string().min(1).max(MAX_TAG_LENGTH).optional().describe('only broadcasts with this tag'),
    from: short('only by this author: name, PeerId or prefix').optional(),
    since: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe('an ISO 8601 time, or a duration back from now: 30m, 2h, 7d'),
    limit: z.number().int().min(1).max(10_000).optional().describe('at most this many (default 100)'),
  },
  async run(a, ctx) {
    const since = a.since != null ? parseSince(a.since) : undefined
    if (a.since != null && since == null) {
      throw new Error(
        `since expects an ISO time or a duration such as 2h or 7d; got ${JSON.stringify(a.since)}`,
      )
    }
    const list = await listKnowledge(ctx.api(), {
      topic: a.topic,
      tag: a.tag,
      from: a.from,
      since,
      limit: a.limit,
      signal: ctx.signal,
    })
    return json(list)
  },
})

/** The tools, in the order clients list them. */
export const TOOLS: readonly Tool[] = [
  discover,
  delegate,
  poll,
  respond,
  reply,
  cancel,
  tasks,
  broadcast,
  knowledge,
  filePut,
  fileGet,
  fileList,
]
