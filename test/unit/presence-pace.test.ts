// Presence's pace in a large mesh: the heartbeat interval and the stale/offline times stretch with the
// members a node knows, so the mesh-wide heartbeat rate (every node receives all of it) stays bounded.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { PresenceMessage } from '../../src/protocols/presence/pb/presence.js'
import { FULL_RATE_MEMBERS, PeerTable } from '../../src/protocols/presence/peer-table.js'
import type { Presence } from '../../src/protocols/presence/presence.js'
import { Ticker } from '../../src/protocols/ticker.js'
import { card, fakePresence, HEARTBEAT, message, OFFLINE, STALE } from '../helpers/fake-presence.js'

const T0 = 1_700_000_000_000

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
    expect(FULL_RATE_MEMBERS).toBe(5)
    fill(FULL_RATE_MEMBERS)
    expect(table.members()).toBe(5)
    expect(table.heartbeatInterval(HEARTBEAT)).toBe(HEARTBEAT)
    expect(table.currentTimings()).toEqual({ staleAfter: STALE, offlineAfter: OFFLINE })
    advanceWith(STALE - 1, 'p1', 5)
    expect(statusOf('p1')).toBe('online')
    advanceWith(1, 'p1', 5)
    expect(statusOf('p1')).toBe('stale')
    advanceWith(OFFLINE, 'p1', 5)
    expect(statusOf('p1')).toBe('offline')
  })

  it('with 100 members the heartbeat interval and the stale and offline times are 20 times longer', () => {
    fill(100)
    // silent for four of its (stretched) heartbeats minus a moment: still online
    advanceWith(20 * STALE - 1, 'p1', 100)
    expect(statusOf('p1')).toBe('online')
    advanceWith(1, 'p1', 100)
    expect(statusOf('p1')).toBe('stale')
    advanceWith(20 * OFFLINE - 1, 'p1', 100)
    expect(statusOf('p1')).toBe('stale')
    advanceWith(1, 'p1', 100)
    expect(statusOf('p1')).toBe('offline')
    expect(table.members()).toBe(99)
    expect(table.heartbeatInterval(HEARTBEAT)).toBe(Math.round((99 / 5) * HEARTBEAT))
    expect(table.currentTimings().staleAfter).toBe(Math.round((99 / 5) * STALE))
  })

  it('the heartbeats the whole mesh sends per minute stay at most 10, whatever its size', () => {
    for (const members of [2, 5, 10, 20, 50, 100, 200, 500, 1000]) {
      table = new PeerTable({ staleAfter: STALE, offlineAfter: OFFLINE }, () => now)
      fill(members)
      const perMinute = (members * 60_000) / table.heartbeatInterval(HEARTBEAT)
      expect(perMinute).toBeLessThanOrEqual(10.01)
      if (members <= FULL_RATE_MEMBERS) expect(perMinute).toBe(members * 2)
    }
  })

  it('peers that leave or go offline stop counting, and the pace comes back', () => {
    fill(60)
    expect(table.heartbeatInterval(HEARTBEAT)).toBe(12 * HEARTBEAT)
    for (let i = 1; i <= 30; i++) table.leave(`p${i}`, 1_000n, 2n)
    expect(table.members()).toBe(30)
    expect(table.heartbeatInterval(HEARTBEAT)).toBe(6 * HEARTBEAT)
    // the rest fall silent: once offline they no longer stretch anything
    now += 2 * (6 * STALE + 6 * OFFLINE)
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

/** Math.random from a fixed seed (mulberry32), so a run with random places is the same every time. */
function seeded(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

describe('presence heartbeats', () => {
  afterEach(() => {
    vi.useRealTimers()
    vi.restoreAllMocks()
  })

  /** Heartbeats a node sends in 10 minutes after its first announcement, with `members` known. */
  async function heartbeatsIn10Minutes(
    members: number,
  ): Promise<{ count: number; presence: Presence; published: () => number }> {
    vi.useFakeTimers()
    // the first heartbeat falls due at a random point of 0.5 to 1.5 intervals (Heartbeat): here at one
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
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

  it('a node of a 100-member mesh heartbeats every 600 s, and a card change still goes out at once', async () => {
    const { count, presence, published } = await heartbeatsIn10Minutes(100)
    expect(count).toBe(1)
    expect(presence.timings()).toEqual({
      heartbeatInterval: 600_000,
      staleAfter: 2_400_000,
      offlineAfter: 12_000_000,
    })
    const before = published()
    await presence.announce()
    expect(published()).toBe(before + 1)
    // the next heartbeat is a full interval after that announcement, not sooner
    await vi.advanceTimersByTimeAsync(599_000)
    expect(published()).toBe(before + 1)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(published()).toBe(before + 2)
    await presence.beforeStop()
    await presence.stop()
  })

  it('a heartbeat armed while the node knew nobody waits for the interval of the mesh it learnt since', async () => {
    vi.useFakeTimers()
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    const { presence, published, gossip } = fakePresence(1)
    await presence.start()
    presence.afterStart()
    await vi.advanceTimersByTimeAsync(0)
    expect(published()).toBe(1)
    // the start announcement went out knowing no one (a 30 s interval); then 99 members are heard of
    await vi.advanceTimersByTimeAsync(1_000)
    for (let i = 1; i < 100; i++) gossip(`p${i}`, message(`p${i}`))
    expect(presence.timings().heartbeatInterval).toBe(600_000)
    await vi.advanceTimersByTimeAsync(598_000)
    expect(published()).toBe(1)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(published()).toBe(2)
    await presence.beforeStop()
    await presence.stop()
  })

  it("when most of the mesh leaves, the next heartbeat comes at the smaller mesh's pace, not the one it was armed with", async () => {
    vi.useFakeTimers()
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    const { presence, published, gossip } = fakePresence(100)
    await presence.start()
    presence.afterStart()
    await vi.advanceTimersByTimeAsync(1_000)
    expect(published()).toBe(1)
    for (let i = 1; i <= 95; i++) gossip(`p${i}`, message(`p${i}`, PresenceMessage.Type.LEAVE, 2n))
    expect(presence.timings().heartbeatInterval).toBe(30_000)
    // others take it as stale after 4 of those intervals: it must not wait the 600 s it was armed with
    await vi.advanceTimersByTimeAsync(34_000)
    expect(published()).toBe(2)
    await presence.beforeStop()
    await presence.stop()
  })

  it('200 nodes started together send about 10 heartbeats a minute in every minute, none at the small mesh pace', async () => {
    vi.useFakeTimers()
    vi.spyOn(Math, 'random').mockImplementation(seeded(17))
    const N = 200
    const MINUTES = 45
    let minute = 0
    const perMinute = new Array<number>(MINUTES + 1).fill(0)
    // one ticker for all their sweeps: 200 timers of their own only slow the fake clock down
    const ticker = new Ticker()
    const nodes = Array.from({ length: N }, () =>
      fakePresence(
        1,
        () => {
          perMinute[minute]!++
        },
        undefined,
        ticker,
      ),
    )
    for (const { presence } of nodes) {
      await presence.start()
      presence.afterStart()
    }
    await vi.advanceTimersByTimeAsync(0)
    expect(perMinute[0]).toBe(N)
    perMinute[0] = 0
    // each learns the others a second after its start announcement, as a newcomer does from member lists
    await vi.advanceTimersByTimeAsync(1_000)
    const cards = Array.from({ length: N }, (_, i) => message(`n${i}`))
    nodes.forEach((node, i) => {
      cards.forEach((c, j) => {
        if (j !== i) node.gossip(`n${j}`, c)
      })
    })
    expect(nodes[0]!.presence.timings().heartbeatInterval).toBe(1_200_000)
    for (minute = 0; minute < MINUTES; minute++) await vi.advanceTimersByTimeAsync(60_000)
    // the design: 200 members, one heartbeat each per 1200 s, so 10 a minute mesh-wide; spread evenly,
    // not 200 at once (30 s after their start, or all 1200 s after it)
    const counted = perMinute.slice(0, MINUTES)
    expect(Math.max(...counted), `heartbeats per minute: ${counted.join(' ')}`).toBeLessThanOrEqual(20)
    expect(counted.reduce((a, b) => a + b, 0) / MINUTES).toBeLessThanOrEqual(11)
    for (const { presence } of nodes) {
      await presence.beforeStop()
      await presence.stop()
    }
  }, 60_000)
})
