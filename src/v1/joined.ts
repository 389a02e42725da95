// `agent_joined`, v1's push-only envelope: a v1 agent registered here, or first appeared on another
// node's card in this node run. It is not queued (v1 never handed it out by poll).
import type { HostedAgent } from '../protocols/presence/index.js'
import { localAgentJson } from './agents.js'
import type { V1Agent } from './store.js'

/** Remote agents remembered as already announced; past this the memory starts over. */
const MAX_SEEN = 4096

const iso = (ms: number) => new Date(ms).toISOString()

export function joinedLocal(a: V1Agent, node: string): Record<string, unknown> {
  return {
    type: 'agent_joined',
    agent_id: a.agentId,
    name: a.name,
    agent: localAgentJson(a, node, ''),
    timestamp: iso(Date.now()),
  }
}

export function joinedRemote(a: HostedAgent, node: string, machine: string): Record<string, unknown> {
  return {
    type: 'agent_joined',
    agent_id: a.agentId,
    name: a.name,
    agent: {
      agent_id: a.agentId,
      name: a.name,
      capabilities: [...a.capabilities],
      machine: a.machine || machine,
      description: a.description,
      status: 'online',
      node,
    },
    timestamp: iso(Date.now()),
  }
}

/** Which remote v1 agents were announced already (node + agent id). */
export class SeenAgents {
  private readonly seen = new Set<string>()

  /** True the first time `peer` lists `agentId`. */
  first(peer: string, agentId: string): boolean {
    const key = `${peer}/${agentId}`
    if (this.seen.has(key)) return false
    if (this.seen.size >= MAX_SEEN) this.seen.clear()
    this.seen.add(key)
    return true
  }
}
