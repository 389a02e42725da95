// Control API endpoints for broadcasts: parse, call core's KnowledgeService, present.

import type { BroadcastJson } from '../../api/types.js'
import type { ClawLinkNode } from '../../core/node.js'
import {
  InvalidBroadcastError,
  PublishBacklogError,
  type StoredBroadcast,
} from '../../protocols/knowledge/index.js'
import { TaskError } from '../../protocols/tasks/index.js'
import { ApiError, type ControlServer } from '../server.js'

const MAX_LIST = 10_000

export function registerKnowledgeRoutes(server: ControlServer, node: ClawLinkNode): void {
  const json = (b: Omit<StoredBroadcast, 'receivedAt'> & { receivedAt?: number }): BroadcastJson => {
    const name = node.authorName(b.author)
    return {
      id: b.id,
      author: { id: b.author, name },
      topic: b.topic,
      tags: b.tags,
      content: b.content,
      ...(b.fromHostedAgent != null ? { fromHostedAgent: b.fromHostedAgent } : {}),
      time: new Date(b.time).toISOString(),
      receivedAt: new Date(b.receivedAt ?? b.time).toISOString(),
    }
  }

  server.route('POST', '/v1/broadcast', async (req) => {
    const body = req.body
    if (body == null || typeof body !== 'object' || Array.isArray(body))
      throw new ApiError(400, 'bad_request', 'expected a JSON object')
    const b = body as Record<string, unknown>
    for (const key of Object.keys(b)) {
      if (!['content', 'topic', 'tags'].includes(key))
        throw new ApiError(400, 'bad_request', `unknown field ${key}`)
    }
    if (typeof b.content !== 'string') throw new ApiError(400, 'bad_request', 'content must be a string')
    if (b.topic != null && typeof b.topic !== 'string')
      throw new ApiError(400, 'bad_request', 'topic must be a string')
    if (b.tags != null && (!Array.isArray(b.tags) || !b.tags.every((t) => typeof t === 'string'))) {
      throw new ApiError(400, 'bad_request', 'tags must be an array of strings')
    }
    try {
      const published = await node.knowledgeService.publish({
        content: b.content,
        topic: b.topic as string | undefined,
        tags: b.tags as string[] | undefined,
      })
      return json(published)
    } catch (err) {
      if (err instanceof InvalidBroadcastError) throw new ApiError(400, 'invalid_broadcast', err.message)
      if (err instanceof PublishBacklogError) {
        throw new ApiError(429, 'broadcast_backlog', err.message, { 'retry-after': String(err.retryAfter) })
      }
      throw err
    }
  })

  server.route('GET', '/v1/knowledge', (req) => {
    const q = req.query
    const limit = Number(q.get('limit') ?? 100)
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST)
      throw new ApiError(400, 'bad_request', `limit must be 1-${MAX_LIST}`)
    let since: number | undefined
    const sinceRaw = q.get('since')
    if (sinceRaw != null) {
      since = Number(sinceRaw)
      if (!Number.isFinite(since)) throw new ApiError(400, 'bad_request', 'since must be ms since the epoch')
    }
    try {
      return node.knowledgeService
        .list({
          topic: q.get('topic') ?? undefined,
          tag: q.get('tag') ?? undefined,
          from: q.get('from') ?? undefined,
          since,
          limit,
        })
        .map(json)
    } catch (err) {
      if (err instanceof TaskError)
        throw new ApiError(err.code === 'ambiguous' ? 409 : 404, err.code, err.message)
      throw err
    }
  })
}
