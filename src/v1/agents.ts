// The v1 agents a v1 client sees: this node's (in its v1 store) and those other nodes' cards list.
import type { ClawLinkNode } from '../core/index.js'
import { STALE_AFTER } from './constants.js'
import type { V1Agent, V1Store } from './store.js'

export const iso = (ms: number) => new Date(ms).toISOString()
/** v1 times: epoch seconds as a float (Python's time.time()). */
export const secs = (ms: number) => ms / 1000

/** Another node's v1 agent as its card lists it. */
interface RemoteAgent {
  agentId: string
  peer: string
  online: boolean
  /** its node is offline: not listed, but still addressable (the task waits in the outbox) */
  offline: boolean
}

export function remoteAgents(node: ClawLinkNode): Array<RemoteAgent & { json: Record<string, unknown> }> {
  const now = Date.now()
  const out: Array<RemoteAgent & { json: Record<string, unknown> }> = []
  for (const p of node.presence.peers()) {
    if (p.card.hostedAgents == null) continue
    for (const a of p.card.hostedAgents.agents) {
      // the age was measured when the card was made; the card is as old as our last word from the peer
      const heartbeat = p.lastSeen - a.heartbeatAge
      const online = p.status === 'online' && now - heartbeat <= STALE_AFTER
      out.push({
        agentId: a.agentId,
        peer: p.id,
        online,
        offline: p.status === 'offline',
        json: {
          agent_id: a.agentId,
          name: a.name,
          capabilities: [...a.capabilities],
          machine: a.machine || p.card.machine,
          description: a.description,
          status: online ? 'online' : 'stale',
          last_heartbeat: secs(heartbeat),
          node: p.id,
          kind: 'v1_agent',
        },
      })
    }
  }
  return out
}

export function localAgentsJson(node: ClawLinkNode, store: V1Store): Array<Record<string, unknown>> {
  const now = Date.now()
  return store.list().map((a) => ({
    ...localAgentJson(a, node.peerId.toString(), node.options.machine),
    status: now - a.lastHeartbeat <= STALE_AFTER ? 'online' : 'stale',
    kind: 'v1_agent',
  }))
}

/** One v1 agent of this node as v1 shows an agent (register, discover, agent_joined). */
export function localAgentJson(a: V1Agent, node: string, machine: string): Record<string, unknown> {
  return {
    agent_id: a.agentId,
    name: a.name,
    capabilities: a.capabilities,
    machine: a.machine || machine,
    description: a.description,
    status: 'online',
    last_heartbeat: secs(a.lastHeartbeat),
    registered_at: secs(a.registeredAt),
    node,
  }
}
