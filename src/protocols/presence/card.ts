// Validation of agent cards: what a card may hold, checked before a card is used or stored.

import { CODE_P2P, type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import {
  CONTROL_RE,
  MAX_CAP_LENGTH,
  MAX_NAME_LENGTH,
  validateCaps,
  validateDescription,
  validateName,
} from '../../rules/card.js'
import {
  MAX_ADDR_LENGTH,
  MAX_ADDRS,
  MAX_HOSTED_AGENT_CAPS,
  MAX_HOSTED_AGENT_DESCRIPTION_LENGTH,
  MAX_HOSTED_AGENT_ID_LENGTH,
  MAX_HOSTED_AGENTS,
  MAX_MACHINE_LENGTH,
  MAX_VERSION_LENGTH,
} from './constants.js'
import { InvalidCardError } from './errors.js'
import type { KnownPeer } from './index.js'
import { type AgentCard, type HostedAgentList, PresenceMessage } from './pb/presence.js'
import type { PeerRecord } from './peer-table.js'
import { checkSuspects } from './suspects.js'

export { validateCaps, validateDescription, validateName }

/** Hosted (e.g. ClawLink v1) agent ids: short tokens, also usable inside a broadcast tag and a media type parameter */
export const HOSTED_AGENT_ID_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/

function validateText(field: string, value: string, max: number): void {
  if (value.length > max) throw new InvalidCardError(`${field} too long (at most ${max} characters)`)
  if (CONTROL_RE.test(value)) throw new InvalidCardError(`${field} contains control characters`)
}

/** Throws InvalidCardError unless every field is within its bounds. */
export function validateCard(card: AgentCard): void {
  validateName(card.name)
  validateCaps(card.caps)
  validateDescription(card.description)
  validateText('machine', card.machine, MAX_MACHINE_LENGTH)
  validateText('version', card.version, MAX_VERSION_LENGTH)
  if (card.startedAt <= 0n || card.startedAt > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new InvalidCardError('startedAt out of range')
  }
  if (card.addrs.length > MAX_ADDRS) throw new InvalidCardError(`too many addresses (at most ${MAX_ADDRS})`)
  for (const addr of card.addrs) {
    if (addr.byteLength === 0 || addr.byteLength > MAX_ADDR_LENGTH) {
      throw new InvalidCardError(`address of ${addr.byteLength} bytes (1-${MAX_ADDR_LENGTH} allowed)`)
    }
  }
  if (card.hostedAgents != null) validateHostedAgents(card.hostedAgents)
}

/** The hosted agents a card lists: bounded in number and size, ids unique. */
export function validateHostedAgents(list: HostedAgentList): void {
  if (list.agents.length > MAX_HOSTED_AGENTS)
    throw new InvalidCardError(`too many hosted agents (at most ${MAX_HOSTED_AGENTS})`)
  const ids = new Set<string>()
  for (const a of list.agents) {
    if (a.agentId.length > MAX_HOSTED_AGENT_ID_LENGTH || !HOSTED_AGENT_ID_RE.test(a.agentId))
      throw new InvalidCardError(`invalid hosted agent id ${JSON.stringify(a.agentId.slice(0, 80))}`)
    if (ids.has(a.agentId)) throw new InvalidCardError(`hosted agent ${a.agentId} listed twice`)
    ids.add(a.agentId)
    validateText('hosted agent name', a.name, MAX_NAME_LENGTH)
    validateText('hosted agent description', a.description, MAX_HOSTED_AGENT_DESCRIPTION_LENGTH)
    validateText('hosted agent machine', a.machine, MAX_MACHINE_LENGTH)
    if (a.capabilities.length > MAX_HOSTED_AGENT_CAPS)
      throw new InvalidCardError(`too many hosted agent capabilities (at most ${MAX_HOSTED_AGENT_CAPS})`)
    for (const c of a.capabilities) validateText('hosted agent capability', c, MAX_CAP_LENGTH)
  }
}

/** Validates a decoded message and returns its card; throws InvalidCardError. */
export function checkMessage(msg: PresenceMessage): AgentCard {
  if (msg.card == null) throw new InvalidCardError('presence message without a card')
  if (msg.type !== PresenceMessage.Type.ANNOUNCE && msg.type !== PresenceMessage.Type.LEAVE) {
    throw new InvalidCardError(`unknown presence message type ${String(msg.type)}`)
  }
  validateCard(msg.card)
  checkSuspects(msg.suspects)
  return msg.card
}

/** A peer remembered from an earlier run as a record, or undefined if its stored card is not valid. */
export function fromKnown(known: KnownPeer): PeerRecord | undefined {
  try {
    const card: AgentCard = {
      name: known.name,
      caps: known.caps,
      description: known.description,
      machine: known.machine,
      version: known.version,
      startedAt: BigInt(known.startedAt),
      load: known.load,
      addrs: known.addrs as Uint8Array<ArrayBuffer>[],
      relayOnly: known.relayOnly,
    }
    validateCard(card)
    return { id: known.id, card, seq: 0n, lastSeen: known.lastSeen, leftAt: known.leftAt }
  } catch {
    return undefined
  }
}

/**
 * Whether the card carries every one of `addrs` (compared without their /p2p/<id>). An address the card
 * lacks means the peer moved (restarted on another port) since the card was made.
 */
export function carriesAll(card: AgentCard, addrs: Multiaddr[]): boolean {
  const carried = new Set<string>()
  for (const bytes of card.addrs) {
    try {
      carried.add(withoutPeerId(multiaddr(bytes)))
    } catch {
      // an address this build cannot read carries nothing
    }
  }
  return addrs.every((a) => carried.has(withoutPeerId(a)))
}

function withoutPeerId(addr: Multiaddr): string {
  return addr.decapsulateCode(CODE_P2P).toString()
}
