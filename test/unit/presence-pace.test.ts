// Presence's pace in a large mesh: the heartbeat interval and the stale/offline times stretch with the
// members a node knows, so the mesh-wide heartbeat rate (every node receives all of it) stays bounded.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { KnownPeer, PresenceComponents } from '../../src/protocols/presence/index.js'
import type { AgentCard } from '../../src/protocols/presence/pb/presence.js'
import { FULL_RATE_MEMBERS, PeerTable } from '../../src/protocols/presence/peer-table.js'
import { Presence } from '../../src/protocols/presence/presence.js'

const HEARTBEAT = 30_000
const STALE = 120_000
const OFFLINE = 600_000
const T0 = 1_700_000_000_000

function card(name: string): AgentCard {
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

let now: number
let table: PeerTable

/** Fills the table to `members` (this node included): peers p1..p(members-1), all heard now. */
function fill(members: number): void {
  for (let i = 1; i < members; i++) table.announce(`p${i}`, card(`p${i}`), 1n)
}

function statusOf(id: string): string {
  return table.status(table.get(id)!)
}

/** Keeps every peer but `silent` heartbeating (as they would), then moves the clock on. */
function advanceWith(ms: number, silent: string, members: number): void {
  now += ms
  for (let i = 1; i < members; i++) {
    if (`p${i}` !== silent) table.announce(`p${i}`, card(`p${i}`), BigInt(now))
  }
  table.sweep()
}

beforeEach(() => {
  now = T0
  table = new PeerTable({ staleAfter: STALE, offlineAfter: OFFLINE }, () => now)
})

describe('presence pace', () => {
  it('up to FULL_RATE_MEMBERS members, heartbeats and thresholds are as configured', () => {
    expect(FULL_RATE_MEMBERS).toBe(20)
    fill(FULL_RATE_MEMBERS)
    expect(table.members()).toBe(20)
    expect(table.heartbeatInterval(HEARTBEAT)).toBe(HEARTBEAT)
    expect(table.currentTimings()).toEqual({ staleAfter: STALE, offlineAfter: OFFLINE })
    advanceWith(STALE - 1, 'p1', 20)
    expect(statusOf('p1')).toBe('online')
    advanceWith(1, 'p1', 20)
    expect(statusOf('p1')).toBe('stale')
    advanceWith(OFFLINE, 'p1', 20)
    expect(statusOf('p1')).toBe('offline')
  })

  it('with 100 members the heartbeat interval and the stale and offline times are 5 times longer', () => {
    fill(100)
    // silent for four of its (stretched) heartbeats minus a moment: still online
    advanceWith(5 * STALE - 1, 'p1', 100)
    expect(statusOf('p1')).toBe('online')
    advanceWith(1, 'p1', 100)
    expect(statusOf('p1')).toBe('stale')
    advanceWith(5 * OFFLINE - 1, 'p1', 100)
    expect(statusOf('p1')).toBe('stale')
    advanceWith(1, 'p1', 100)
    expect(statusOf('p1')).toBe('offline')
    expect(table.members()).toBe(99)
    expect(table.heartbeatInterval(HEARTBEAT)).toBe(Math.round((99 / 20) * HEARTBEAT))
    expect(table.currentTimings().staleAfter).toBe(Math.round((99 / 20) * STALE))
  })

  it('the heartbeats the whole mesh sends per minute stay at most 40, whatever its size', () => {
    for (const members of [2, 10, 20, 50, 100, 200, 500, 1000]) {
      table = new PeerTable({ staleAfter: STALE, offlineAfter: OFFLINE }, () => now)
      fill(members)
      const perMinute = (members * 60_000) / table.heartbeatInterval(HEARTBEAT)
      expect(perMinute).toBeLessThanOrEqual(40.01)
      if (members <= FULL_RATE_MEMBERS) expect(perMinute).toBe(members * 2)
    }
  })

  it('peers that leave or go offline stop counting, and the pace comes back', () => {
    fill(60)
    expect(table.heartbeatInterval(HEARTBEAT)).toBe(3 * HEARTBEAT)
    for (let i = 1; i <= 30; i++) table.leave(`p${i}`, 1_000n, 2n)
    expect(table.members()).toBe(30)
    expect(table.heartbeatInterval(HEARTBEAT)).toBe(1.5 * HEARTBEAT)
    // the rest fall silent: once offline they no longer stretch anything
    now += 2 * (1.5 * STALE + 1.5 * OFFLINE)
    table.sweep()
    table.sweep()
    expect(table.members()).toBe(1)
    expect(table.heartbeatInterval(HEARTBEAT)).toBe(HEARTBEAT)
    // forgotten peers were offline already; a returning peer counts again
    table.forget(0)
    table.announce('p1', card('p1'), 3n)
    expect(table.members()).toBe(2)
  })
})

/** A Presence on fake components: what it publishes is counted, nothing goes anywhere. */
function fakePresence(members: number): { presence: Presence; published: () => number } {
  let published = 0
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
    addressManager: { getAddresses: () => [] },
    logger: { forComponent: () => Object.assign(noop, { error: noop, trace: noop }) },
    pubsub: {
      topicValidators: new Map(),
      addEventListener: noop,
      removeEventListener: noop,
      subscribe: noop,
      unsubscribe: noop,
      publish: async () => {
        published++
      },
    },
  } as unknown as PresenceComponents
  const known: KnownPeer[] = []
  for (let i = 1; i < members; i++) {
    known.push({
      ...{ id: `p${i}`, name: `p${i}`, caps: [], description: '', machine: 'host', version: '0.1.0' },
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
  })
  return { presence, published: () => published }
}

describe('presence heartbeats', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  /** Heartbeats a node sends in 10 minutes after its first announcement, with `members` known. */
  async function heartbeatsIn10Minutes(
    members: number,
  ): Promise<{ count: number; presence: Presence; published: () => number }> {
    vi.useFakeTimers()
    const { presence, published } = fakePresence(members)
    await presence.start()
    presence.afterStart()
    await vi.advanceTimersByTimeAsync(0)
    const first = published()
    await vi.advanceTimersByTimeAsync(600_000)
    return { count: published() - first, presence, published }
  }

  it('a node of a 5-member mesh heartbeats every 30 s, as before', async () => {
    const { count, presence } = await heartbeatsIn10Minutes(5)
    expect(count).toBe(20)
    await presence.beforeStop()
    await presence.stop()
  })

  it('a node of a 100-member mesh heartbeats every 150 s, and a card change still goes out at once', async () => {
    const { count, presence, published } = await heartbeatsIn10Minutes(100)
    expect(count).toBe(4)
    expect(presence.timings()).toEqual({
      heartbeatInterval: 150_000,
      staleAfter: 600_000,
      offlineAfter: 3_000_000,
    })
    const before = published()
    await presence.announce()
    expect(published()).toBe(before + 1)
    // the next heartbeat is a full interval after that announcement, not sooner
    await vi.advanceTimersByTimeAsync(149_000)
    expect(published()).toBe(before + 1)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(published()).toBe(before + 2)
    await presence.beforeStop()
    await presence.stop()
  })
})
