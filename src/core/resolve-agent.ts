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

/** Where a task goes: a peer, and the agent that peer hosts when it is for one (a v1 agent). */
export interface Target {
  peer: PeerRef
  toAgent?: string
}

/** An agent a node hosts (a v1 agent): on a peer (its card lists it) or on this node itself. */
export interface HostedCandidate {
  peer: PeerRef
  agentId: string
  name: string
  caps: string[]
  /** its node is online and it was heard from within the stale time */
  online: boolean
  /** epoch ms of its last heartbeat */
  lastHeartbeat: number
}

/** The hosted agents peers' cards list; `staleAfter` as for peers. */
export function peersHosted(known: KnownAgent[], staleAfter: number, now = Date.now()): HostedCandidate[] {
  return known
    .filter((a) => !a.card.relayOnly)
    .flatMap((a) =>
      (a.card.hostedAgents?.agents ?? []).map((h) => {
        // the age was measured when the card was made; the card is as old as our last word from the peer
        const lastHeartbeat = a.lastSeen - h.heartbeatAge
        return {
          peer: { id: a.id, name: a.card.name },
          agentId: h.agentId,
          name: h.name,
          caps: [...h.capabilities],
          online: a.status === 'online' && now - lastHeartbeat <= staleAfter,
          lastHeartbeat,
        }
      }),
    )
}

/**
 * Like resolveAgent, but also a hosted agent (v1), of a peer or of this node (`hosted` lists both),
 * by its id or name. A node's id or name wins over a hosted agent's; among hosted agents an id wins
 * over a name. A target whose peer is `self` is a local task.
 */
export function resolveTarget(
  query: string,
  known: KnownAgent[],
  self: string,
  hosted: HostedCandidate[] = peersHosted(known, Number.POSITIVE_INFINITY),
): Target {
  const agents = known.filter((a) => !a.card.relayOnly)
  if (agents.some((a) => a.id === query || a.card.name === query) || query === self)
    return { peer: resolveAgent(query, known, self) }
  let matches = hosted.filter((h) => h.agentId === query)
  if (matches.length === 0) matches = hosted.filter((h) => h.name === query)
  // an agent may move between nodes, or re-register: prefer the one that is up
  if (matches.length > 1) {
    const online = matches.filter((h) => h.online)
    if (online.length > 0) matches = online
  }
  if (matches.length > 1 && new Set(matches.map((h) => `${h.peer.id} ${h.agentId}`)).size > 1) {
    const list = matches
      .slice(0, 20)
      .map((h) => `  ${h.name.padEnd(20)} ${h.agentId} on ${h.peer.name} ${h.peer.id}`)
      .join('\n')
    throw new TaskError('ambiguous', `several hosted agents match ${query}; use the agent's id:\n${list}`)
  }
  const hit = matches[0]
  if (hit != null) return { peer: hit.peer, toAgent: hit.agentId }
  return { peer: resolveAgent(query, known, self) }
}

/**
 * An agent with `cap`: the least loaded online node (pickByCap), else an online hosted agent (one of
 * this node's own first, then the one heard from most recently).
 */
export function pickTarget(
  cap: string,
  known: KnownAgent[],
  self: string,
  hosted: HostedCandidate[],
): Target {
  try {
    return { peer: pickByCap(cap, known) }
  } catch (err) {
    const best = hosted
      .filter((h) => h.online && h.caps.includes(cap))
      .sort(
        (a, b) =>
          Number(b.peer.id === self) - Number(a.peer.id === self) || b.lastHeartbeat - a.lastHeartbeat,
      )[0]
    if (best == null) throw err
    return { peer: best.peer, toAgent: best.agentId }
  }
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
