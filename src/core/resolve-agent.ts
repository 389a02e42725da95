// Turns what a user typed after --to (a name, a PeerId, a PeerId prefix) or --cap into one peer.
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerRef } from '../api/types.js'
import type { PeerRecord, PeerStatus } from '../protocols/presence/index.js'
import { TaskError } from '../protocols/tasks/index.js'

export type KnownAgent = PeerRecord & { status: PeerStatus }

function describe(agents: KnownAgent[]): string {
  return agents
    .slice(0, 20)
    .map((a) => `  ${a.card.name.padEnd(20)} ${a.id} (${a.status})`)
    .join('\n')
}

/** A name (unique, or unique among online agents), a PeerId, or a unique PeerId prefix (12+ characters). */
export function resolveAgent(query: string, known: KnownAgent[], self: string): PeerRef {
  const agents = known.filter((a) => !a.card.relayOnly)
  const exact = agents.find((a) => a.id === query)
  if (exact != null) return { id: exact.id, name: exact.card.name }
  if (query === self) throw new TaskError('invalid', 'an agent cannot delegate to itself')
  const named = agents.filter((a) => a.card.name === query)
  if (named.length === 1) return { id: named[0]!.id, name: query }
  if (named.length > 1) {
    const online = named.filter((a) => a.status === 'online')
    if (online.length === 1) return { id: online[0]!.id, name: query }
    throw new TaskError(
      'ambiguous',
      `several agents are named ${query}; use a PeerId (or prefix):\n${describe(named)}`,
    )
  }
  // every Ed25519 PeerId starts with 12D3KooW: a prefix must say more than that
  if (query.length >= 12) {
    const prefixed = agents.filter((a) => a.id.startsWith(query))
    if (prefixed.length === 1) return { id: prefixed[0]!.id, name: prefixed[0]!.card.name }
    if (prefixed.length > 1)
      throw new TaskError('ambiguous', `${query} matches several agents:\n${describe(prefixed)}`)
  }
  try {
    // a full PeerId of an agent we have not met yet: the task waits in the outbox until it shows up
    const id = peerIdFromString(query).toString()
    if (id === self) throw new TaskError('invalid', 'an agent cannot delegate to itself')
    return { id, name: id.slice(0, 16) }
  } catch (err) {
    if (err instanceof TaskError) throw err
  }
  const list =
    agents.length > 0
      ? `; known agents:\n${describe(agents)}`
      : '; no agents are known yet (see clawlink discover)'
  throw new TaskError('not_found', `no agent ${JSON.stringify(query)}${list}`)
}

/** The least loaded online agent with `cap` (ties: the one seen most recently). */
export function pickByCap(cap: string, known: KnownAgent[]): PeerRef {
  const candidates = known
    .filter((a) => a.status === 'online' && !a.card.relayOnly && a.card.caps.includes(cap))
    .sort((a, b) => a.card.load - b.card.load || b.lastSeen - a.lastSeen)
  const best = candidates[0]
  if (best == null)
    throw new TaskError('not_found', `no online agent has the capability ${JSON.stringify(cap)}`)
  return { id: best.id, name: best.card.name }
}
