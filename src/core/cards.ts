// Conversions between wire cards, stored peers and the control API's JSON.
import { multiaddr } from '@multiformats/multiaddr'
import type { AgentCardJson, PeerJson, PeerStatus } from '../api/types.js'
import type { AgentCard, KnownPeer, PeerRecord } from '../protocols/presence/index.js'
import type { StoredPeer } from '../store/database.js'

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
