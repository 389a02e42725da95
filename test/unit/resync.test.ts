// The anti-entropy triggers (src/protocols/sync/resync.ts): a pull from a peer once its subscription
// to the topic arrives (a publish it made before it knew of us would otherwise wait for gossip or the
// periodic pass), and a periodic pass over a few connected peers. Fake timers; a fake pubsub.
import type { PeerId } from '@libp2p/interface'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { startResync } from '../../src/protocols/sync/resync.js'

const peer = (id: string) => ({ toString: () => id }) as unknown as PeerId

function subscriptionChange(id: string, topic: string, subscribe: boolean): CustomEvent {
  return new CustomEvent('subscription-change', {
    detail: { peerId: peer(id), subscriptions: [{ topic, subscribe }] },
  })
}

let pubsub: EventTarget
let connected: string[]
let synced: string[]
let stop: () => void

beforeEach(() => {
  vi.useFakeTimers()
  pubsub = new EventTarget()
  connected = []
  synced = []
  stop = startResync({
    pubsub: pubsub as never,
    connectionManager: { getConnections: () => connected.map((id) => ({ remotePeer: peer(id) })) } as never,
    topic: 'knowledge',
    sync: async (p) => {
      synced.push(p.toString())
    },
    delay: 1_000,
    interval: 60_000,
    fanout: 2,
  })
})

afterEach(() => {
  stop()
  vi.useRealTimers()
})

describe('resync triggers', () => {
  it('pulls from a peer a moment after its subscription to the topic arrives, and only then', async () => {
    pubsub.dispatchEvent(subscriptionChange('a', 'knowledge', true))
    pubsub.dispatchEvent(subscriptionChange('b', 'other-topic', true))
    pubsub.dispatchEvent(subscriptionChange('c', 'knowledge', false))
    await vi.advanceTimersByTimeAsync(999)
    expect(synced).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(synced).toEqual(['a'])
    await vi.advanceTimersByTimeAsync(10_000)
    expect(synced).toEqual(['a'])
  })

  it('pulls from a few connected peers each interval', async () => {
    connected = ['a', 'a', 'b', 'c', 'd']
    await vi.advanceTimersByTimeAsync(60_000)
    expect(synced).toHaveLength(2)
    expect(new Set(synced).size).toBe(2)
    for (const id of synced) expect(connected).toContain(id)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(synced).toHaveLength(4)
  })

  it('does nothing once stopped, not even a pull already waiting for its delay', async () => {
    connected = ['a']
    pubsub.dispatchEvent(subscriptionChange('a', 'knowledge', true))
    stop()
    pubsub.dispatchEvent(subscriptionChange('b', 'knowledge', true))
    await vi.advanceTimersByTimeAsync(300_000)
    expect(synced).toEqual([])
  })
})
