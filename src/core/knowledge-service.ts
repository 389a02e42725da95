// The rules of broadcasts: which ones this node keeps and hands its agent, publishing, and listing.
import {
  InvalidBroadcastError,
  type StoredBroadcast,
  type VerifiedBroadcast,
  type Via,
} from '../protocols/knowledge/index.js'
import { isReservedTag, RESERVED_TAG_PREFIX } from '../rules/limits.js'
import type { NodeContext } from './context.js'
import type { NewEvent } from './inbox.js'
import { resolveAgent } from './resolve-agent.js'

export interface ListRequest {
  topic?: string
  tag?: string
  /** an author: this node's name or PeerId, or another agent's name, PeerId or prefix */
  from?: string
  since?: number
  limit: number
}

export class KnowledgeService {
  constructor(private readonly node: NodeContext) {}

  /**
   * Stores a broadcast and, for one the agent has not seen, its poll event, in one transaction. This
   * node's own broadcasts reach only its hosted agents (the agent that sent one knows it already).
   */
  accept(b: VerifiedBroadcast, via: Via): boolean {
    const { node } = this
    const isNew = node.store.transaction(() => {
      if (!node.knowledgeStore.put(b)) return false
      if (via === 'own') {
        node.mailbox.shareOwn(this.event(b))
      } else if (via === 'live' || (via === 'history' && b.time >= node.firstStartedAt)) {
        node.mailbox.append(this.event(b))
      }
      return true
    })
    if (isNew && via === 'live') {
      const name = node.nameOf(b.author) ?? b.author.slice(0, 16)
      node.log.emit(
        'broadcast_received',
        { id: b.id, author: b.author, name, topic: b.topic, tags: b.tags },
        `broadcast on ${b.topic} from ${name}: ${b.content.length > 60 ? `${b.content.slice(0, 57)}...` : b.content}`.replace(
          /\s+/g,
          ' ',
        ),
      )
    }
    return isNew
  }

  private event(b: VerifiedBroadcast): NewEvent {
    const { node } = this
    const event: NewEvent = {
      type: 'broadcast',
      id: b.id,
      from: { id: b.author, name: node.authorName(b.author) },
      to: { id: node.peerId.toString(), name: node.localCard().name },
      priority: 'normal',
      topic: b.topic,
      tags: b.tags,
      content: b.content,
      timestamp: new Date(b.time).toISOString(),
    }
    if (b.fromHostedAgent != null) event.fromHostedAgent = b.fromHostedAgent
    return event
  }

  /**
   * Publishes a broadcast (InvalidBroadcastError for a bad one, or for a tag in the reserved
   * namespace); `fromHostedAgent` is set by an adapter for the hosted agent that sends it.
   */
  async publish(input: {
    content: string
    topic?: string
    tags?: string[]
    fromHostedAgent?: string
  }): Promise<StoredBroadcast> {
    const tags = input.tags ?? []
    const reserved = tags.find(isReservedTag)
    if (reserved != null)
      throw new InvalidBroadcastError(
        `the tag ${JSON.stringify(reserved.slice(0, 80))} is reserved: tags starting with ${RESERVED_TAG_PREFIX} (any case) could pose as another agent`,
      )
    const published = await this.node.knowledge.publish({
      content: input.content,
      topic: input.topic ?? 'general',
      tags,
      fromHostedAgent: input.fromHostedAgent,
    })
    const { raw: _raw, ...stored } = published
    return { ...stored, receivedAt: Date.now() }
  }

  /** Kept broadcasts, newest first (TaskError not_found/ambiguous for an unknown `from`). */
  list(r: ListRequest): StoredBroadcast[] {
    const { node } = this
    const self = node.peerId.toString()
    const author =
      r.from == null
        ? undefined
        : r.from === node.localCard().name || r.from === self
          ? self
          : resolveAgent(r.from, node.presence.peers(), self).id
    return node.knowledgeStore.list({ topic: r.topic, tag: r.tag, author, since: r.since, limit: r.limit })
  }
}
