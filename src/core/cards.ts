// Conversions between wire cards, stored peers and the control API's JSON.
import { multiaddr } from '@multiformats/multiaddr'
import type { AgentCardJson, PeerJson, PeerStatus } from '../api/types.js'
import type { AgentCard, KnownPeer, PeerRecord } from '../protocols/presence/index.js'
import type { StoredPeer } from '../store/database.js'
import type { HostedAgentInfo } from './mailbox.js'

export function addrStrings(addrs: Uint8Array[]): string[] {
  const out: string[] = []
  for (const a of addrs) {
    try {
      out.push(multiaddr(a).toString())
    } catch {
      // a peer may announce an address we cannot parse; it is skipped, not fatal
    }
  }
  return out
}

export function cardJson(id: string, card: AgentCard): AgentCardJson {
  return {
    id,
    name: card.name,
    caps: [...card.caps],
    description: card.description,
    machine: card.machine,
    version: card.version,
    startedAt: new Date(Number(card.startedAt)).toISOString(),
    load: card.load,
    addrs: addrStrings(card.addrs),
    relayOnly: card.relayOnly,
    ...(card.hub === true ? { hub: true } : {}),
  }
}

export function peerJson(record: PeerRecord, status: PeerStatus, connected: boolean): PeerJson {
  return {
    ...cardJson(record.id, record.card),
    status,
    lastSeen: new Date(record.lastSeen).toISOString(),
    connected,
  }
}

/**
 * The agents a peer's card says it hosts (v1 agents), each as a PeerJson of kind `hosted`: its own id,
 * name, caps and heartbeat; `online` while its node is online and it was heard from within `staleAfter`.
 */
export function hostedJson(
  node: PeerJson,
  record: PeerRecord,
  staleAfter: number,
  now = Date.now(),
): PeerJson[] {
  return (record.card.hostedAgents?.agents ?? []).map((a) => {
    // the age was measured when the card was made; the card is as old as our last word from the peer
    const heartbeat = record.lastSeen - a.heartbeatAge
    const status: PeerStatus =
      node.status === 'online' && now - heartbeat > staleAfter ? 'stale' : node.status
    return {
      ...node,
      id: a.agentId,
      name: a.name,
      caps: [...a.capabilities],
      description: a.description,
      machine: a.machine || node.machine,
      status,
      lastSeen: new Date(heartbeat).toISOString(),
      kind: 'hosted' as const,
      hostedBy: { id: node.id, name: node.name },
    }
  })
}

/**
 * The agents this node hosts itself (v1 agents), as hostedJson shows a peer's: `self` is this node's
 * card; online while heard from within `staleAfter`.
 */
export function ownHostedJson(
  self: AgentCardJson,
  agents: HostedAgentInfo[],
  staleAfter: number,
  now = Date.now(),
): PeerJson[] {
  return agents.map((a) => ({
    ...self,
    id: a.agentId,
    name: a.name,
    caps: [...a.capabilities],
    description: a.description,
    machine: a.machine || self.machine,
    status: now - a.lastHeartbeat > staleAfter ? ('stale' as const) : ('online' as const),
    lastSeen: new Date(a.lastHeartbeat).toISOString(),
    connected: false,
    kind: 'hosted' as const,
    hostedBy: { id: self.id, name: self.name },
  }))
}

export function toStoredPeer(record: PeerRecord): StoredPeer {
  const card = cardJson(record.id, record.card)
  return {
    id: record.id,
    name: record.card.name,
    card: JSON.stringify(card),
    addrs: card.addrs,
    lastSeen: record.lastSeen,
    leftAt: record.leftAt,
  }
}

export function fromStoredPeer(stored: StoredPeer): KnownPeer | undefined {
  try {
    const card = JSON.parse(stored.card) as AgentCardJson
    return {
      id: stored.id,
      name: card.name,
      caps: card.caps,
      description: card.description,
      machine: card.machine,
      version: card.version,
      startedAt: Date.parse(card.startedAt),
      load: card.load,
      addrs: stored.addrs.map((a) => multiaddr(a).bytes),
      relayOnly: card.relayOnly,
      lastSeen: stored.lastSeen,
      leftAt: stored.leftAt,
    }
  } catch {
    return undefined
  }
}
