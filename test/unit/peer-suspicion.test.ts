// A peer a neighbour lost (PeerTable.suspect): stale at once, offline if it does not answer in time, and
// back online only with a message newer than the one the suspicion was about.
import { beforeEach, describe, expect, it } from 'vitest'
import type { AgentCard } from '../../src/protocols/presence/pb/presence.js'
import { PeerTable } from '../../src/protocols/presence/peer-table.js'

const STALE = 120_000
const OFFLINE = 600_000
const SUSPECT = 60_000
const T0 = 1_700_000_000_000

const card = (startedAt = 1_000n): AgentCard => ({
  name: 'bob',
  caps: [],
  description: '',
  machine: 'h',
  version: '1',
  startedAt,
  load: 0,
  addrs: [],
  relayOnly: false,
})

let now: number
let table: PeerTable
const status = (id = 'bob') => table.status(table.get(id)!)

beforeEach(() => {
  now = T0
  table = new PeerTable({ staleAfter: STALE, offlineAfter: OFFLINE, suspectOfflineAfter: SUSPECT }, () => now)
  table.announce('bob', card(), 5n)
})

describe('PeerTable.suspect', () => {
  it('holds a suspected peer stale at once, and offline once the suspicion is unanswered for its time', () => {
    const { applied, change } = table.suspect('bob', 1_000n, 5n, 'carol')
    expect(applied).toBe(true)
    expect(change).toMatchObject({ from: 'online', to: 'stale' })
    expect(table.get('bob')!.suspected).toMatchObject({ at: T0, by: 'carol', seq: 5n })
    now += SUSPECT - 1
    expect(status()).toBe('stale')
    now += 1
    expect(table.sweep().map((c) => [c.from, c.to])).toEqual([['stale', 'offline']])
    // offline peers are not members: the heartbeat pace no longer counts it
    expect(table.members()).toBe(1)
  })

  it('clears with a newer message of the peer, not with the same one or an older one', () => {
    table.suspect('bob', 1_000n, 5n, 'carol')
    // another copy of the suspected message (direct, or gossip from elsewhere) answers nothing
    table.announce('bob', card(), 5n)
    expect(status()).toBe('stale')
    expect(table.announce('bob', card(), 4n).result).toBe('ignored')
    // relayed copies of the suspected message refresh nothing either
    table.relayed('bob', card(), 5n, now, { message: new Uint8Array(), signature: new Uint8Array() })
    expect(status()).toBe('stale')
    const { change } = table.announce('bob', card(), 6n)
    expect(change).toMatchObject({ from: 'stale', to: 'online' })
    expect(table.get('bob')!.suspected).toBeUndefined()
  })

  it('is not answered by a relayed newer message the relayer heard before the suspicion began', () => {
    const signed = { message: new Uint8Array(), signature: new Uint8Array() }
    now += 1_000
    table.suspect('bob', 1_000n, 5n, 'carol')
    // bob's message 7, sent just before it died: the relayer heard it 400 ms before the suspicion
    table.relayed('bob', card(), 7n, now - 400, signed)
    expect(status()).toBe('stale')
    expect(table.get('bob')!.seq).toBe(7n)
    // heard again by a relayer after the suspicion began: bob outlived it
    now += 1_000
    const { change } = table.relayed('bob', card(), 8n, now - 100, signed)
    expect(change).toMatchObject({ from: 'stale', to: 'online' })
    expect(table.get('bob')!.suspected).toBeUndefined()
  })

  it('clears when the peer restarted (a newer run)', () => {
    table.suspect('bob', 1_000n, 5n, 'carol')
    table.announce('bob', card(2_000n), 1n)
    expect(status()).toBe('online')
  })

  it('ignores a suspicion about a message older than one we heard: the peer spoke since', () => {
    table.announce('bob', card(), 7n)
    expect(table.suspect('bob', 1_000n, 6n, 'carol')).toEqual({ applied: false })
    expect(status()).toBe('online')
  })

  it('holds a suspicion about a message we have not heard yet until a message after it', () => {
    table.suspect('bob', 1_000n, 8n, 'carol')
    expect(status()).toBe('stale')
    // a late copy of message 6 does not answer a suspicion of message 8
    table.announce('bob', card(), 6n)
    expect(status()).toBe('stale')
    table.announce('bob', card(), 9n)
    expect(status()).toBe('online')
  })

  it('counts a repeated suspicion once and keeps the time of the first', () => {
    table.suspect('bob', 1_000n, 5n, 'carol')
    now += 10_000
    expect(table.suspect('bob', 1_000n, 5n, 'dave').applied).toBe(false)
    expect(table.get('bob')!.suspected).toMatchObject({ at: T0, by: 'carol' })
    now += SUSPECT - 10_000
    expect(status()).toBe('offline')
  })

  it('does not suspect an unknown peer or one that left', () => {
    expect(table.suspect('nobody', 1n, 1n, 'carol')).toEqual({ applied: false })
    table.leave('bob', 1_000n, 6n)
    expect(table.suspect('bob', 1_000n, 6n, 'carol')).toEqual({ applied: false })
    expect(status()).toBe('offline')
  })

  it('a peer silent past its stale time stays offline by silence even while suspected', () => {
    table.suspect('bob', 1_000n, 5n, 'carol')
    now += STALE + OFFLINE
    expect(status()).toBe('offline')
  })
})
