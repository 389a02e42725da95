// The rules of broadcasts: which ones this node keeps and hands its agent, publishing, and listing.
import type { StoredBroadcast, VerifiedBroadcast, Via } from '../protocols/knowledge/index.js'
import type { NodeContext } from './context.js'
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

  /** Stores a broadcast and, for one the agent has not seen, its poll event, in one transaction. */
  accept(b: VerifiedBroadcast, via: Via): boolean {
    const { node } = this
    const isNew = node.store.transaction(() => {
      if (!node.knowledgeStore.put(b)) return false
      if (via === 'live' || (via === 'history' && b.time >= node.firstStartedAt)) {
        node.mailbox.append({
          type: 'broadcast',
          id: b.id,
          from: { id: b.author, name: node.nameOf(b.author) ?? b.author.slice(0, 16) },
          to: { id: node.peerId.toString(), name: node.localCard().name },
          priority: 'normal',
          topic: b.topic,
          tags: b.tags,
          content: b.content,
          timestamp: new Date(b.time).toISOString(),
        })
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

  /** Publishes a broadcast (InvalidBroadcastError for a bad one). */
  async publish(input: { content: string; topic?: string; tags?: string[] }): Promise<StoredBroadcast> {
    const published = await this.node.knowledge.publish({
      content: input.content,
      topic: input.topic ?? 'general',
      tags: input.tags ?? [],
    })
    return { ...published, receivedAt: Date.now() }
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
