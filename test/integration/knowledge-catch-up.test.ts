// A receiver that throttled an author pulls what it dropped within seconds (issue 16), not at the
// next 120 s pass; and an author's own queue refuses past its bound instead of accepting.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { PublishBacklogError } from '../../src/protocols/knowledge/index.js'
import { seen, startNode, type TestMesh, testMesh } from '../helpers/in-process.js'

describe('knowledge catch-up and backlog (in-process nodes)', () => {
  let mesh: TestMesh
  afterEach(async () => {
    await mesh.cleanup()
  })

  it('a receiver with a lower rate gets every broadcast of a burst within seconds', async () => {
    mesh = testMesh()
    // alice accepts 1/s (bursts of 5) from each author; fast publishes at the default 20/s
    const alice = await startNode(mesh, { name: 'alice', mdns: false, broadcastRate: 1 })
    const passes: number[] = []
    alice.knowledge.addEventListener('sync:done', () => passes.push(Date.now()))
    const fast = await startNode(mesh, {
      name: 'fast',
      mdns: false,
      peers: [alice.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(() => expect(seen(alice)).toEqual(['fast']), { timeout: 10_000 })
    await vi.waitFor(
      () => expect(fast.libp2p.services.pubsub.getSubscribers('clawlink/knowledge/1').length).toBe(1),
      { timeout: 10_000 },
    )
    await vi.waitFor(
      () => expect(alice.libp2p.services.pubsub.getSubscribers('clawlink/knowledge/1').length).toBe(1),
      { timeout: 10_000 },
    )
    // the passes on connect and after the subscription (1 s later) are over: only catch-up can fetch now
    const subscribed = Date.now()
    await vi.waitFor(() => expect(passes.some((t) => t > subscribed + 900)).toBe(true), { timeout: 10_000 })
    const t0 = Date.now()
    for (let i = 0; i < 40; i++) await fast.knowledge.publish({ topic: 'burst', tags: [], content: `n ${i}` })
    await vi.waitFor(
      () => expect(alice.knowledgeStore.list({ topic: 'burst', limit: 1000 })).toHaveLength(40),
      { timeout: 15_000, interval: 100 },
    )
    // well before the 120 s pass
    expect(Date.now() - t0).toBeLessThan(15_000)
    expect(alice.sink.events.some((e) => e.event === 'broadcast_throttled')).toBe(true)
  })

  it('refuses a broadcast when its own queue is full, storing nothing', async () => {
    mesh = testMesh()
    // rate 1: the queue holds max(burst 5, 60 s at 0.8/s = 48) = 48
    const solo = await startNode(mesh, { name: 'solo', mdns: false, broadcastRate: 1 })
    // a listener: with nobody subscribed nothing is paced (history sync carries it all)
    await startNode(mesh, {
      name: 'listener',
      mdns: false,
      peers: [solo.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(
      () => expect(solo.libp2p.services.pubsub.getSubscribers('clawlink/knowledge/1').length).toBe(1),
      { timeout: 10_000 },
    )
    let refused: unknown
    let accepted = 0
    for (let i = 0; i < 80 && refused == null; i++) {
      try {
        await solo.knowledge.publish({ topic: 'q', tags: [], content: `q ${i}` })
        accepted++
      } catch (err) {
        refused = err
      }
    }
    expect(refused).toBeInstanceOf(PublishBacklogError)
    expect((refused as PublishBacklogError).retryAfter).toBeGreaterThanOrEqual(1)
    // a few may have gone out (2 at once, then 0.8/s) while the loop ran
    expect(accepted).toBeGreaterThanOrEqual(48)
    expect(accepted).toBeLessThan(55)
    expect(solo.knowledgeStore.list({ topic: 'q', limit: 1000 })).toHaveLength(accepted)
    expect(solo.libp2p.services.knowledge.pendingPublish()).toBe(48)
  })
})
