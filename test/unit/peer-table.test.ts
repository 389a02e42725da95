import { beforeEach, describe, expect, it } from 'vitest'
import type { AgentCard } from '../../src/protocols/presence/pb/presence.js'
import { type PeerRecord, PeerTable, type StatusChange } from '../../src/protocols/presence/peer-table.js'

const STALE = 1_000
const OFFLINE = 5_000
const T0 = 1_700_000_000_000

function card(overrides: Partial<AgentCard> = {}): AgentCard {
  return {
    name: 'alice',
    caps: ['code', 'review'],
    description: 'an agent',
    machine: 'host-1',
    version: '0.1.0',
    startedAt: 1_000n,
    load: 0,
    addrs: [Uint8Array.from([4, 127, 0, 0, 1, 6, 0x0f, 0xa0])],
    relayOnly: false,
    ...overrides,
  }
}

/** Only the parts of a change a test cares about. */
function brief(change: StatusChange | undefined): { id: string; from: string; to: string } | undefined {
  return change == null ? undefined : { id: change.record.id, from: change.from, to: change.to }
}

let now: number
let table: PeerTable

function advance(ms: number): void {
  now += ms
}

function statusOf(id: string): string {
  const record = table.get(id)
  if (record == null) throw new Error(`no record for ${id}`)
  return table.status(record)
}

beforeEach(() => {
  now = T0
  table = new PeerTable({ staleAfter: STALE, offlineAfter: OFFLINE }, () => now)
})

describe('PeerTable announce', () => {
  it('puts a new peer online, reporting unknown -> online', () => {
    const { result, change } = table.announce('p1', card(), 1n)
    expect(result).toBe('new')
    expect(brief(change)).toEqual({ id: 'p1', from: 'unknown', to: 'online' })
    expect(statusOf('p1')).toBe('online')
    expect(table.get('p1')?.lastSeen).toBe(T0)
    expect(table.list().map((r) => r.id)).toEqual(['p1'])
  })

  it('keeps a peer online with heartbeats, reporting no change', () => {
    table.announce('p1', card(), 1n)
    for (let seq = 2n; seq < 10n; seq++) {
      advance(STALE - 1)
      const { result, change } = table.announce('p1', card(), seq)
      expect(result).toBe('refreshed')
      expect(change).toBeUndefined()
      expect(table.sweep()).toEqual([])
      expect(statusOf('p1')).toBe('online')
    }
    expect(table.get('p1')?.seq).toBe(9n)
    expect(table.get('p1')?.lastSeen).toBe(now)
  })

  it("reports 'updated' when the card changes and 'refreshed' when it does not", () => {
    table.announce('p1', card(), 1n)
    expect(table.announce('p1', card(), 2n).result).toBe('refreshed')
    expect(table.announce('p1', card({ load: 3 }), 3n).result).toBe('updated')
    expect(table.get('p1')?.card.load).toBe(3)
    expect(table.announce('p1', card({ load: 3 }), 4n).result).toBe('refreshed')
    expect(table.announce('p1', card({ load: 3, caps: ['code'] }), 5n).result).toBe('updated')
    expect(table.announce('p1', card({ load: 3, caps: ['code'], description: 'x' }), 6n).result).toBe(
      'updated',
    )
    expect(table.announce('p1', card({ load: 3, caps: ['code'], description: 'x' }), 7n).result).toBe(
      'refreshed',
    )
  })

  it.each<[string, Partial<AgentCard>]>([
    ['name', { name: 'bob' }],
    ['caps order', { caps: ['review', 'code'] }],
    ['description', { description: 'another' }],
    ['machine', { machine: 'host-2' }],
    ['version', { version: '0.2.0' }],
    ['load', { load: 1 }],
    ['relayOnly', { relayOnly: true }],
    ['addr bytes', { addrs: [Uint8Array.from([4, 127, 0, 0, 1, 6, 0x0f, 0xa1])] }],
    ['addr count', { addrs: [] }],
  ])("a change of %s is 'updated'", (_field, overrides) => {
    table.announce('p1', card(), 1n)
    expect(table.announce('p1', card(overrides), 2n).result).toBe('updated')
  })

  it('compares addrs by content, not identity', () => {
    table.announce('p1', card(), 1n)
    expect(
      table.announce('p1', card({ addrs: [Uint8Array.from([4, 127, 0, 0, 1, 6, 0x0f, 0xa0])] }), 2n).result,
    ).toBe('refreshed')
  })

  it('ignores a message with a lower seq of the same run', () => {
    table.announce('p1', card({ load: 1 }), 5n)
    advance(10)
    const { result, change } = table.announce('p1', card({ load: 2 }), 4n)
    expect(result).toBe('ignored')
    expect(change).toBeUndefined()
    expect(table.get('p1')?.card.load).toBe(1)
    expect(table.get('p1')?.seq).toBe(5n)
    expect(table.get('p1')?.lastSeen).toBe(T0)
  })

  it('ignores a message from an older run even with a higher seq', () => {
    table.announce('p1', card({ startedAt: 2_000n }), 1n)
    expect(table.announce('p1', card({ startedAt: 1_000n }), 100n).result).toBe('ignored')
    expect(table.get('p1')?.card.startedAt).toBe(2_000n)
  })

  it('accepts a newer run with a lower seq', () => {
    table.announce('p1', card({ startedAt: 1_000n }), 50n)
    const { result } = table.announce('p1', card({ startedAt: 2_000n }), 1n)
    // startedAt orders messages but is not card content: a restart with the same card is a refresh.
    expect(result).toBe('refreshed')
    expect(table.get('p1')?.seq).toBe(1n)
    expect(table.get('p1')?.card.startedAt).toBe(2_000n)
  })

  it('accepts a repeat of the same (startedAt, seq) while online', () => {
    table.announce('p1', card(), 3n)
    advance(100)
    expect(table.announce('p1', card(), 3n).result).toBe('refreshed')
    expect(table.get('p1')?.lastSeen).toBe(T0 + 100)
  })

  it('keeps peers apart', () => {
    table.announce('p1', card({ name: 'a' }), 1n)
    table.announce('p2', card({ name: 'b' }), 1n)
    expect(table.get('p1')?.card.name).toBe('a')
    expect(table.get('p2')?.card.name).toBe('b')
    expect(table.list()).toHaveLength(2)
  })
})

describe('PeerTable time-driven status', () => {
  it('goes online -> stale after staleAfter, stale -> offline after offlineAfter more', () => {
    table.announce('p1', card(), 1n)
    advance(STALE - 1)
    expect(table.sweep()).toEqual([])
    advance(1)
    expect(table.sweep().map(brief)).toEqual([{ id: 'p1', from: 'online', to: 'stale' }])
    expect(statusOf('p1')).toBe('stale')
    advance(OFFLINE - 1)
    expect(table.sweep()).toEqual([])
    advance(1)
    expect(table.sweep().map(brief)).toEqual([{ id: 'p1', from: 'stale', to: 'offline' }])
    expect(statusOf('p1')).toBe('offline')
  })

  it('reports each transition exactly once', () => {
    table.announce('p1', card(), 1n)
    advance(STALE)
    expect(table.sweep()).toHaveLength(1)
    expect(table.sweep()).toEqual([])
    advance(10)
    expect(table.sweep()).toEqual([])
    advance(OFFLINE)
    expect(table.sweep()).toHaveLength(1)
    expect(table.sweep()).toEqual([])
    advance(1_000_000)
    expect(table.sweep()).toEqual([])
  })

  it('reports online -> offline directly when a sweep comes late', () => {
    table.announce('p1', card(), 1n)
    advance(STALE + OFFLINE)
    expect(table.sweep().map(brief)).toEqual([{ id: 'p1', from: 'online', to: 'offline' }])
  })

  it('reports transitions of several peers in one sweep', () => {
    table.announce('p1', card(), 1n)
    advance(STALE / 2)
    table.announce('p2', card(), 1n)
    advance(STALE / 2)
    expect(table.sweep().map(brief)).toEqual([{ id: 'p1', from: 'online', to: 'stale' }])
    advance(STALE / 2)
    expect(table.sweep().map(brief)).toEqual([{ id: 'p2', from: 'online', to: 'stale' }])
  })

  it('an announce brings a stale peer back online', () => {
    table.announce('p1', card(), 1n)
    advance(STALE)
    table.sweep()
    const { result, change } = table.announce('p1', card(), 2n)
    expect(result).toBe('refreshed')
    expect(brief(change)).toEqual({ id: 'p1', from: 'stale', to: 'online' })
    expect(table.sweep()).toEqual([])
  })

  it('an announce brings an offline peer back online', () => {
    table.announce('p1', card(), 1n)
    advance(STALE + OFFLINE)
    table.sweep()
    const { change } = table.announce('p1', card(), 2n)
    expect(brief(change)).toEqual({ id: 'p1', from: 'offline', to: 'online' })
    expect(statusOf('p1')).toBe('online')
  })

  it('reports no change when a peer announces again before any sweep noticed it stale', () => {
    table.announce('p1', card(), 1n)
    advance(STALE)
    // No sweep: the table still believes p1 online, so coming back is no change.
    expect(table.announce('p1', card(), 2n).change).toBeUndefined()
    expect(table.sweep()).toEqual([])
  })
})

describe('PeerTable leave', () => {
  it('takes the peer offline at once', () => {
    table.announce('p1', card(), 1n)
    advance(5)
    const change = table.leave('p1', 1_000n, 2n)
    expect(brief(change)).toEqual({ id: 'p1', from: 'online', to: 'offline' })
    expect(statusOf('p1')).toBe('offline')
    expect(table.get('p1')?.leftAt).toBe(T0 + 5)
    expect(table.get('p1')?.seq).toBe(2n)
    expect(table.sweep()).toEqual([])
  })

  it('of an unknown peer does nothing', () => {
    expect(table.leave('nobody', 1_000n, 1n)).toBeUndefined()
    expect(table.get('nobody')).toBeUndefined()
  })

  it('older than what we hold is ignored', () => {
    table.announce('p1', card(), 5n)
    expect(table.leave('p1', 1_000n, 4n)).toBeUndefined()
    expect(table.leave('p1', 999n, 100n)).toBeUndefined()
    expect(statusOf('p1')).toBe('online')
    expect(table.get('p1')?.leftAt).toBeUndefined()
  })

  it('with the same seq as the last announce counts', () => {
    table.announce('p1', card(), 5n)
    expect(brief(table.leave('p1', 1_000n, 5n))?.to).toBe('offline')
  })

  it('is not undone by a delayed older announce', () => {
    table.announce('p1', card(), 1n)
    table.announce('p1', card(), 2n)
    table.leave('p1', 1_000n, 3n)
    advance(10)
    expect(table.announce('p1', card(), 2n).result).toBe('ignored')
    expect(table.announce('p1', card({ startedAt: 999n }), 50n).result).toBe('ignored')
    expect(statusOf('p1')).toBe('offline')
  })

  it('is not undone by a replay of the announce with the same seq', () => {
    table.announce('p1', card(), 3n)
    table.leave('p1', 1_000n, 3n)
    const { result, change } = table.announce('p1', card(), 3n)
    expect(result).toBe('ignored')
    expect(change).toBeUndefined()
    expect(statusOf('p1')).toBe('offline')
  })

  it("of a newer run we never saw announced is not undone by that run's delayed first announce", () => {
    table.announce('p1', card({ startedAt: 1_000n }), 50n)
    // The peer restarted (startedAt 2000), announced seq 1 and left with seq 2; the leave arrives first.
    expect(brief(table.leave('p1', 2_000n, 2n))?.to).toBe('offline')
    const { result } = table.announce('p1', card({ startedAt: 2_000n }), 1n)
    expect(result).toBe('ignored')
    expect(statusOf('p1')).toBe('offline')
    // A message of the old run is older still.
    expect(table.announce('p1', card({ startedAt: 1_000n }), 51n).result).toBe('ignored')
    // A third run comes back.
    expect(table.announce('p1', card({ startedAt: 3_000n }), 1n).result).not.toBe('ignored')
    expect(statusOf('p1')).toBe('online')
  })

  it('a later announce of the same run brings the peer back', () => {
    table.announce('p1', card(), 1n)
    table.leave('p1', 1_000n, 2n)
    const { change } = table.announce('p1', card(), 3n)
    expect(brief(change)).toEqual({ id: 'p1', from: 'offline', to: 'online' })
    expect(table.get('p1')?.leftAt).toBeUndefined()
  })

  it('a restart (higher startedAt, seq 1) after leave brings the peer back online', () => {
    table.announce('p1', card({ startedAt: 1_000n }), 7n)
    table.leave('p1', 1_000n, 8n)
    advance(60_000)
    const { result, change } = table.announce('p1', card({ startedAt: 61_000n }), 1n)
    expect(result).toBe('refreshed')
    expect(brief(change)).toEqual({ id: 'p1', from: 'offline', to: 'online' })
    expect(statusOf('p1')).toBe('online')
    expect(table.get('p1')?.seq).toBe(1n)
    expect(table.get('p1')?.leftAt).toBeUndefined()
    // The old run's leave, delivered late, no longer counts.
    expect(table.leave('p1', 1_000n, 8n)).toBeUndefined()
    expect(statusOf('p1')).toBe('online')
  })

  it('a restart with a changed card is an update', () => {
    table.announce('p1', card({ startedAt: 1_000n }), 7n)
    table.leave('p1', 1_000n, 8n)
    expect(table.announce('p1', card({ startedAt: 2_000n, version: '0.2.0' }), 1n).result).toBe('updated')
  })
})

describe('PeerTable restore', () => {
  function record(id: string, lastSeen: number, leftAt?: number): PeerRecord {
    return { id, card: card({ name: id }), seq: 1n, lastSeen, leftAt }
  }

  it('computes status from lastSeen and reports nothing for the restored state', () => {
    table.restore([
      record('fresh', now - 10),
      record('stale', now - STALE - 10),
      record('gone', now - STALE - OFFLINE - 10),
      record('left', now - 10, now - 10),
    ])
    expect(statusOf('fresh')).toBe('online')
    expect(statusOf('stale')).toBe('stale')
    expect(statusOf('gone')).toBe('offline')
    expect(statusOf('left')).toBe('offline')
    expect(table.sweep()).toEqual([])
    advance(STALE)
    expect(table.sweep().map(brief)).toEqual([{ id: 'fresh', from: 'online', to: 'stale' }])
  })

  it('does not replace a peer already known', () => {
    table.announce('p1', card({ name: 'live' }), 1n)
    table.restore([record('p1', now - 1_000_000)])
    expect(table.get('p1')?.card.name).toBe('live')
    expect(statusOf('p1')).toBe('online')
  })

  it('a restored offline peer that announces again reports offline -> online', () => {
    table.restore([record('p1', now - STALE - OFFLINE)])
    const { result, change } = table.announce('p1', card({ name: 'p1' }), 2n)
    expect(result).toBe('refreshed')
    expect(brief(change)).toEqual({ id: 'p1', from: 'offline', to: 'online' })
  })
})

describe('PeerTable forget', () => {
  it('drops peers offline for longer than forgetAfter, and only them', () => {
    const FORGET = 60_000
    table.announce('old', card(), 1n)
    table.announce('left', card(), 1n)
    table.leave('left', 1_000n, 2n)
    advance(FORGET + 1)
    table.announce('recent', card(), 1n)
    expect(table.forget(FORGET).sort()).toEqual(['left', 'old'])
    expect(table.get('old')).toBeUndefined()
    expect(table.get('left')).toBeUndefined()
    expect(table.list().map((r) => r.id)).toEqual(['recent'])
  })

  it('keeps an offline peer not yet past forgetAfter', () => {
    table.announce('p1', card(), 1n)
    advance(STALE + OFFLINE)
    expect(table.forget(STALE + OFFLINE)).toEqual([])
    advance(1)
    expect(table.forget(STALE + OFFLINE)).toEqual(['p1'])
  })

  it('keeps an online peer whatever forgetAfter says', () => {
    table.announce('p1', card(), 1n)
    advance(STALE - 1)
    expect(table.forget(0)).toEqual([])
    expect(table.get('p1')).toBeDefined()
  })

  it('a forgotten peer that comes back is new again', () => {
    table.announce('p1', card(), 1n)
    table.leave('p1', 1_000n, 2n)
    advance(10)
    table.forget(5)
    const { result, change } = table.announce('p1', card(), 1n)
    expect(result).toBe('new')
    expect(brief(change)).toEqual({ id: 'p1', from: 'unknown', to: 'online' })
  })
})
