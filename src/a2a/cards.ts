// Agent Cards: this node's agent at the root, and every agent the mesh lists (peers, the agents they
// host, the agents this node hosts) under /agents/NAME, with skills from its capabilities.
import type { AgentCard, AgentSkill } from '@a2a-js/sdk'
import { cardJson, hostedJson, ownHostedJson, peerJson } from '../core/cards.js'
import type { ClawLinkNode } from '../core/index.js'
import { VERSION } from '../version.js'

export interface MeshAgent {
  name: string
  caps: string[]
  description: string
  /** `node` (a peer's own agent), `hosted` (an agent a node hosts), `self` (this node's agent) */
  kind: 'self' | 'node' | 'hosted'
  online: boolean
  /** the node it runs on */
  node: string
}

/** The path under which an agent's endpoints and card live ('' for this node's own agent). */
export function agentPath(name: string | undefined): string {
  return name == null ? '' : `/agents/${encodeURIComponent(name)}`
}

export const SCHEME = 'bearer'

/** This node's agent, then every other agent the mesh lists (relays left out), online first. */
export function meshAgents(node: ClawLinkNode): MeshAgent[] {
  const self = cardJson(node.peerId.toString(), node.presence.localCard())
  const selfName = self.name
  const out: MeshAgent[] = [
    {
      name: selfName,
      caps: self.caps,
      description: self.description,
      kind: 'self',
      online: true,
      node: self.id,
    },
  ]
  for (const h of ownHostedJson(self, node.mailbox.hostedAgents(), node.options.staleAfter))
    out.push({ ...pick(h), kind: 'hosted', online: h.status === 'online', node: self.id })
  for (const p of node.presence.peers()) {
    if (p.card.relayOnly) continue
    const json = peerJson(p, p.status, node.isConnected(p.id))
    out.push({ ...pick(json), kind: 'node', online: p.status === 'online', node: p.id })
    for (const h of hostedJson(json, p, node.presence.timings().staleAfter))
      out.push({ ...pick(h), kind: 'hosted', online: h.status === 'online', node: p.id })
  }
  return out
}

const pick = (j: { name: string; caps: string[]; description: string }) => ({
  name: j.name,
  caps: j.caps,
  description: j.description,
})

/** The agent of that name, preferring one online (names are not unique on a mesh). */
export function findAgent(node: ClawLinkNode, name: string): MeshAgent | undefined {
  const all = meshAgents(node).filter((a) => a.name === name && a.kind !== 'self')
  return all.find((a) => a.online) ?? all[0]
}

function skill(agent: MeshAgent, cap: string): AgentSkill {
  return {
    id: cap,
    name: cap,
    description: `${agent.name} on the ClawLink mesh offers ${cap}`,
    tags: [cap],
    examples: [],
    inputModes: [],
    outputModes: [],
    securityRequirements: [],
  }
}

/** The card of one agent; `base` is the URL the client reached this bridge by. */
export function agentCard(agent: MeshAgent, base: string, tokenRequired: boolean): AgentCard {
  const path = agentPath(agent.kind === 'self' ? undefined : agent.name)
  const selfNote =
    agent.kind === 'self'
      ? ' This is the agent of the node that serves this card: it takes no task through its own bridge; send to /agents/NAME instead.'
      : ''
  return {
    name: agent.name,
    description:
      (agent.description !== '' ? agent.description : `${agent.name}, an agent on a ClawLink mesh`) +
      selfNote,
    supportedInterfaces: [
      { url: `${base}${path}/a2a/jsonrpc`, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' },
      { url: `${base}${path}/a2a/rest`, protocolBinding: 'HTTP+JSON', tenant: '', protocolVersion: '1.0' },
    ],
    provider: undefined,
    version: VERSION,
    capabilities: { streaming: true, pushNotifications: true, extensions: [], extendedAgentCard: false },
    securitySchemes: tokenRequired
      ? {
          [SCHEME]: {
            scheme: {
              $case: 'httpAuthSecurityScheme',
              value: {
                description: 'the token of clawlink node --a2a-token',
                scheme: 'Bearer',
                bearerFormat: '',
              },
            },
          },
        }
      : {},
    securityRequirements: tokenRequired ? [{ schemes: { [SCHEME]: { list: [] } } }] : [],
    defaultInputModes: ['text/plain', 'application/json'],
    defaultOutputModes: ['text/plain'],
    skills: agent.caps.map((c) => skill(agent, c)),
    signatures: [],
  }
}
