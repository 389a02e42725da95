// A Presence on fake components, for unit tests of what it publishes and when: nothing goes anywhere.
import { TOPIC } from '../../src/protocols/presence/constants.js'
import type { KnownPeer, PresenceComponents } from '../../src/protocols/presence/index.js'
import { type AgentCard, PresenceMessage } from '../../src/protocols/presence/pb/presence.js'
import { Presence } from '../../src/protocols/presence/presence.js'
import type { Ticker } from '../../src/protocols/ticker.js'

export const HEARTBEAT = 30_000
export const STALE = 120_000
export const OFFLINE = 600_000

export function card(name: string): AgentCard {
  return {
    name,
    caps: [],
    description: '',
    machine: 'host',
    version: '0.1.0',
    startedAt: 1_000n,
    load: 0,
    addrs: [],
    relayOnly: false,
  }
}

export interface FakePresence {
  presence: Presence
  /** how many messages it published */
  published: () => number
  /** hands the node a presence message `from` published on the topic */
  gossip: (from: string, msg: Uint8Array) => void
}

/**
 * A Presence on fake components, `members` - 1 peers known from an earlier run: what it publishes is
 * counted (and passed to `onPublish`), nothing goes anywhere.
 */
export function fakePresence(
  members: number,
  onPublish: (data: Uint8Array) => void = () => {},
  /** the known peers' ids (default p1, p2, ...) */
  ids: string[] = Array.from({ length: members - 1 }, (_, i) => `p${i + 1}`),
  /** a ticker shared by many fake nodes (one timer for all their sweeps); each has its own when absent */
  ticker?: Ticker,
): FakePresence {
  let published = 0
  const listeners: Array<(evt: CustomEvent<unknown>) => void> = []
  const noop = () => {}
  const components = {
    peerId: { equals: () => false, toString: () => 'self' },
    registrar: {
      handle: async () => {},
      unhandle: async () => {},
      register: async () => 'topo',
      unregister: noop,
    },
    connectionManager: { getConnections: () => [] },
    events: { addEventListener: noop, removeEventListener: noop },
    addressManager: { getAddresses: () => [] },
    logger: { forComponent: () => Object.assign(noop, { error: noop, trace: noop }) },
    pubsub: {
      topicValidators: new Map(),
      addEventListener: (type: string, fn: (evt: CustomEvent<unknown>) => void) => {
        if (type === 'message') listeners.push(fn)
      },
      removeEventListener: noop,
      subscribe: noop,
      unsubscribe: noop,
      publish: async (_topic: string, data: Uint8Array) => {
        published++
        onPublish(data)
        return { recipients: [] }
      },
    },
  } as unknown as PresenceComponents
  const known: KnownPeer[] = []
  for (let i = 1; i < members; i++) {
    known.push({
      ...{ id: ids[i - 1]!, name: `p${i}`, caps: [], description: '', machine: 'host', version: '0.1.0' },
      ...{ startedAt: 1_000, load: 0, addrs: [], relayOnly: false, lastSeen: Date.now() },
    })
  }
  const card = () => ({
    name: 'self',
    caps: [],
    description: '',
    machine: 'host',
    version: '0.1.0',
    load: 0,
    relayOnly: false,
  })
  const presence = new Presence(components, {
    card,
    known,
    heartbeatInterval: HEARTBEAT,
    staleAfter: STALE,
    offlineAfter: OFFLINE,
    ticker,
  })
  const gossip = (from: string, data: Uint8Array) => {
    const peer = { equals: (o: unknown) => String(o) === from, toString: () => from }
    const detail = { type: 'signed', topic: TOPIC, from: peer, data }
    for (const fn of listeners) fn(new CustomEvent('message', { detail }))
  }
  return { presence, published: () => published, gossip }
}

/** A peer's presence message as it would gossip it (unsigned: the fake node relays nothing). */
export function message(name: string, type = PresenceMessage.Type.ANNOUNCE, seq = 1n): Uint8Array {
  return PresenceMessage.encode({ type, card: card(name), seq })
}
