// Every MCP tool in one place: its name, a description written for the model that will choose it, its
// input schema, and a handler that makes the same control API call as the matching CLI command.

import { resolve } from 'node:path'
import * as z from 'zod'
import { TASK_ID_PATTERN } from '../api/task-id.js'
import type { Priority } from '../api/types.js'
import type { ControlClient } from '../client/control-client.js'
import {
  cancelTask,
  copyOut,
  delegateTask,
  getFile,
  listFiles,
  listKnowledge,
  listPeers,
  listTasks,
  PRIORITIES,
  parseSince,
  pollEvents,
  putContent,
  putFile,
  respondTask,
  sendBroadcast,
} from '../client/requests.js'
import {
  MAX_CONTENT_SIZE,
  MAX_ID_LENGTH,
  MAX_KEY_BYTES,
  MAX_MEDIA_TYPE_LENGTH,
  MAX_REASON_LENGTH,
  MAX_TAG_LENGTH,
  MAX_TAGS,
  MAX_TASK_SIZE,
  MAX_TOPIC_LENGTH,
  MAX_TTL,
} from '../rules/limits.js'
import { readTextPrefix } from './file-text.js'

/** The longest a delegate or poll call may wait: long enough to be useful, short enough for MCP clients. */
export const MAX_WAIT_SECONDS = 300
/** Text a file_put may carry inline; larger content goes by `path`. */
export const MAX_INLINE_CONTENT = 1024 * 1024
/** What file_get returns as text by default, and at most. */
export const DEFAULT_TEXT_BYTES = 64 * 1024
export const MAX_TEXT_BYTES = 1024 * 1024
/** Names, ids, capabilities, paths and other short strings. */
const SHORT = 1024

export interface ToolContext {
  /** The node's control client, chosen at each call: the node may start or restart after the server. */
  api(): ControlClient
  /** Aborted when the client cancels the call. */
  signal: AbortSignal
  /** Tells the client a long wait is still going; returns the function that stops it. */
  keepAlive(seconds: number): () => void
}

export interface ToolReply {
  /** text blocks, first to last */
  text: string[]
}

export interface Tool {
  name: string
  description: string
  input: z.ZodObject
  run(args: unknown, ctx: ToolContext): Promise<ToolReply>
}

/** Types a tool's handler by its schema, then erases the type so every tool fits one list. */
function tool<S extends z.ZodRawShape>(def: {
  name: string
  description: string
  input: S
  run(args: z.infer<z.ZodObject<S>>, ctx: ToolContext): Promise<ToolReply>
}): Tool {
  return {
    name: def.name,
    description: def.description,
    // strict: a misspelt argument is an error the model can fix, not a value silently dropped
    input: z.strictObject(def.input),
    run: (args, ctx) => def.run(args as z.infer<z.ZodObject<S>>, ctx),
  }
}

const json = (value: unknown): ToolReply => ({ text: [JSON.stringify(value, null, 2)] })

const short = (what: string) => z.string().min(1).max(SHORT).describe(what)
const waitSeconds = (what: string) =>
  z.number().min(0).max(MAX_WAIT_SECONDS).optional().describe(`${what} (0-${MAX_WAIT_SECONDS} seconds)`)

/** Runs a wait with keep-alive progress for the client. */
async function waiting<T>(ctx: ToolContext, seconds: number, call: Promise<T>): Promise<T> {
  const stop = seconds > 0 ? ctx.keepAlive(seconds) : () => {}
  try {
    return await call
  } finally {
    stop()
  }
}

const discover = tool({
  name: 'discover',
  description:
    'List the other agents in the ClawLink mesh: name, PeerId, capabilities (caps), description, load and ' +
    'status. Use it to find who can do a job before delegating; `cap` keeps only agents with that capability.',
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
  input: {
    id: z
      .string()
      .regex(TASK_ID_PATTERN)
      .optional()
      .describe('a task id you choose; calling again with it returns that task instead of sending a second'),
    to: short('the agent: name, PeerId or PeerId prefix (give this or cap)').optional(),
    cap: short('any online agent with this capability (give this or to)').optional(),
    task: z.string().min(1).max(MAX_TASK_SIZE).describe('what to do, in words the other agent can act on'),
    context: z.unknown().optional().describe('extra data for the task: any JSON value'),
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
    'do it, then call `respond` with its `id`), `task_update` (a task you delegated changed state or has a ' +
    'result), `broadcast` and `file_updated`. Events are marked seen unless `peek`. With `wait_seconds` it ' +
    'returns the moment an event arrives, or an empty list when the wait ends.',
  input: {
    wait_seconds: waitSeconds('wait this long for an event when none is pending'),
    peek: z.boolean().optional().describe('leave the events unseen'),
    limit: z.number().int().min(1).max(1000).optional().describe('at most this many events (default 100)'),
  },
  async run(a, ctx) {
    const wait = a.wait_seconds ?? 0
    const events = await waiting(
      ctx,
      wait,
      pollEvents(ctx.api(), { wait: wait * 1000, peek: a.peek, limit: a.limit, signal: ctx.signal }),
    )
    return json(events)
  },
})

const respond = tool({
  name: 'respond',
  description:
    'Answer a task another agent gave you (its `id` from `poll`). `status` completed (default) or failed ' +
    'ends the task; rejected declines it; working reports progress and may be sent several times. The ' +
    'result reaches the delegator durably.',
  input: {
    id: z.string().min(1).max(MAX_ID_LENGTH).describe('the task id'),
    result: z.string().max(MAX_TASK_SIZE).describe('the answer, or the progress report, or why it failed'),
    status: z.enum(['working', 'completed', 'failed', 'rejected']).optional().describe('default completed'),
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

const cancel = tool({
  name: 'cancel',
  description:
    'Withdraw a task you delegated that is no longer needed. It becomes canceled at once; the assignee ' +
    'is told.',
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
  input: {
    open: z.boolean().optional().describe('only tasks not yet final (submitted, delivered, working)'),
    id: z.string().min(1).max(MAX_ID_LENGTH).optional().describe('only the task with this id'),
  },
  run: async (a, ctx) => json(await listTasks(ctx.api(), { open: a.open, id: a.id, signal: ctx.signal })),
})

const broadcast = tool({
  name: 'broadcast',
  description:
    'Tell every agent in the mesh something worth knowing (a finding, a decision, a warning), signed as ' +
    'you. Agents that are away get it when they reconnect; others read it with `knowledge`.',
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

const filePut = tool({
  name: 'file_put',
  description:
    'Write a file into the shared file map every agent in the mesh can read: text `content`, or a local ' +
    'file by `path`. Returns the new version. With `base` the write happens only if the current version is ' +
    'still `base` (compare-and-swap): on refusal, read the latest, merge, and write again. Every member can ' +
    "read what is put: the node's identity and mesh keys and files under its data dir or CLAWLINK_HOME are " +
    'refused (only a person, with `clawlink file-put --force`, can share those).',
  input: {
    key: z.string().min(1).max(MAX_KEY_BYTES).describe('path-like, e.g. reports/q3.md: no leading /, no ..'),
    content: z
      .string()
      .max(MAX_INLINE_CONTENT)
      .optional()
      .describe(`the text to store (at most ${MAX_INLINE_CONTENT} characters; give this or path)`),
    path: short('a local file to store instead of content (any size, binary too)').optional(),
    base: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('only write if the current version is this (0: new key)'),
    media_type: z
      .string()
      .min(1)
      .max(MAX_MEDIA_TYPE_LENGTH)
      .optional()
      .describe('default: from the key, else text/plain for content'),
  },
  async run(a, ctx) {
    if ((a.content == null) === (a.path == null)) throw new Error('give exactly one of content and path')
    const api = ctx.api()
    const req = { key: a.key, base: a.base, type: a.media_type }
    const file =
      a.content != null
        ? await putContent(api, { ...req, type: a.media_type ?? guessTextType(a.key) }, a.content, {
            signal: ctx.signal,
          })
        : await putFile(api, { ...req, path: resolve(a.path!) }, { signal: ctx.signal })
    return json(file)
  },
})

/** Inline content is text: say so unless the key's extension tells the node better. */
function guessTextType(key: string): string | undefined {
  return /\.[A-Za-z0-9]{1,10}$/.test(key) ? undefined : 'text/plain; charset=utf-8'
}

const fileGet = tool({
  name: 'file_get',
  description:
    'Read a file from the shared file map as text (fetched from a peer if this node does not have it yet). ' +
    `Returns the version's metadata, then the text: at most max_bytes (default ${DEFAULT_TEXT_BYTES}); a ` +
    'larger file is cut and says so, binary content is not returned: pass `save_to` to write the whole ' +
    'file to a local path instead.',
  input: {
    key: z.string().min(1).max(MAX_KEY_BYTES).describe('the key'),
    version: z.number().int().min(1).optional().describe('an older version kept in history'),
    max_bytes: z
      .number()
      .int()
      .min(1)
      .max(MAX_TEXT_BYTES)
      .optional()
      .describe(`return at most this many bytes of text (default ${DEFAULT_TEXT_BYTES})`),
    save_to: short('write the whole content to this local file instead of returning it').optional(),
  },
  async run(a, ctx) {
    const got = await getFile(ctx.api(), { key: a.key, version: a.version }, { signal: ctx.signal })
    if (a.save_to != null) {
      const dest = resolve(a.save_to)
      await copyOut(got.path, dest)
      return json({ ...got.file, savedTo: dest })
    }
    const max = a.max_bytes ?? DEFAULT_TEXT_BYTES
    const prefix = await readTextPrefix(got.path, max)
    const meta = JSON.stringify(got.file, null, 2)
    if (prefix.text == null) {
      return {
        text: [
          meta,
          `[binary content, ${got.file.size} bytes (${got.file.mediaType}): not shown; pass save_to to write it to a file]`,
        ],
      }
    }
    const note = prefix.truncated
      ? [`[truncated: the first ${prefix.bytes} of ${got.file.size} bytes; raise max_bytes or pass save_to]`]
      : []
    return { text: [meta, prefix.text, ...note] }
  },
})

const fileList = tool({
  name: 'file_list',
  description:
    'List the keys in the shared file map with version, size, author, time, and `conflict` when a ' +
    'concurrent write is kept in history (someone should merge).',
  input: {
    prefix: z.string().max(MAX_KEY_BYTES).optional().describe('only keys starting with this'),
    all: z.boolean().optional().describe('include deleted keys'),
  },
  run: async (a, ctx) =>
    json(await listFiles(ctx.api(), { prefix: a.prefix, all: a.all, signal: ctx.signal })),
})

/** The tools, in the order clients list them. */
export const TOOLS: readonly Tool[] = [
  discover,
  delegate,
  poll,
  respond,
  cancel,
  tasks,
  broadcast,
  knowledge,
  filePut,
  fileGet,
  fileList,
]
