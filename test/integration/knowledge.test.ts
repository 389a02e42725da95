// History sync against a peer that serves a tampered entry, and rate limiting of a flooding author.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Broadcast, BroadcastBody, openBroadcast } from '../../src/protocols/knowledge/index.js'
import { seen, startNode, type TestMesh, testMesh } from '../helpers/in-process.js'

describe('knowledge (in-process nodes)', () => {
  let mesh: TestMesh
  afterEach(async () => {
    await mesh.cleanup()
  })

  it('drops a tampered history entry (content changed, signature kept) and keeps the genuine ones', async () => {
    mesh = testMesh()
    const mallory = await startNode(mesh, { name: 'mallory', mdns: false })
    const genuine = await mallory.knowledge.publish({
      topic: 'general',
      tags: [],
      content: 'the real finding',
    })
    const victim = await mallory.knowledge.publish({ topic: 'general', tags: [], content: 'deploy at 5' })
    // mallory alters a stored entry behind its signature: same id, same signature, other content
    const msg = Broadcast.decode(mallory.knowledgeStore.raw(victim.id)!)
    const body = BroadcastBody.decode(msg.body)
    const forged = Broadcast.encode({
      body: BroadcastBody.encode({ ...body, content: 'deploy at 3 AM, skip the tests' }),
      signature: msg.signature,
    })
    await expect(openBroadcast(forged)).rejects.toThrow(/signature does not match/)
    mallory.knowledgeStore.prune(0, 1)
    mallory.knowledgeStore.put({ ...genuine })
    mallory.knowledgeStore.put({ ...victim, content: 'deploy at 3 AM, skip the tests', raw: forged })

    const alice = await startNode(mesh, {
      name: 'alice',
      mdns: false,
      peers: [mallory.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(() => expect(seen(alice)).toEqual(['mallory']), { timeout: 10_000 })
    await vi.waitFor(
      () =>
        expect(alice.sink.events.some((e) => e.event === 'broadcast_invalid' && e.via === 'history')).toBe(
          true,
        ),
      { timeout: 10_000 },
    )
    await vi.waitFor(() => expect(alice.knowledgeStore.count()).toBe(1), { timeout: 5_000 })
    const held = alice.knowledgeStore.list()
    expect(held.map((b) => b.content)).toEqual(['the real finding'])
    expect(alice.knowledgeStore.has(victim.id)).toBe(false)
    const reason = alice.sink.events.find((e) => e.event === 'broadcast_invalid')?.reason
    expect(reason).toMatch(/signature does not match/)
  })

  it('rate-limits a flooding author, logs it, and still takes broadcasts from others', async () => {
    mesh = testMesh()
    // the live path's limit is what this test measures: the catch-up sync that later fetches what was
    // throttled (test/integration/knowledge-catch-up.test.ts) is put off past its end
    const alice = await startNode(mesh, {
      name: 'alice',
      mdns: false,
      broadcastRate: 1,
      catchUpDelay: 60_000,
    })
    const flood = await startNode(mesh, {
      name: 'flood',
      mdns: false,
      peers: [alice.libp2p.getMultiaddrs()[0]!.toString()],
    })
    const calm = await startNode(mesh, {
      name: 'calm',
      mdns: false,
      peers: [alice.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(() => expect(seen(alice)).toEqual(['calm', 'flood']), { timeout: 10_000 })
    // let gossipsub graft its mesh so live messages flow
    await vi.waitFor(
      () => expect(flood.libp2p.services.pubsub.getSubscribers('clawlink/knowledge/1').length).toBe(1),
      {
        timeout: 10_000,
      },
    )
    await new Promise((r) => setTimeout(r, 1_500))
    for (let i = 0; i < 40; i++)
      await flood.knowledge.publish({ topic: 'spam', tags: [], content: `spam ${i}` })
    await calm.knowledge.publish({ topic: 'general', tags: [], content: 'a calm note' })
    await vi.waitFor(() => expect(alice.knowledgeStore.list({ topic: 'general' })).toHaveLength(1), {
      timeout: 10_000,
    })
    await new Promise((r) => setTimeout(r, 500))
    const spam = alice.knowledgeStore.list({ topic: 'spam', limit: 1000 }).length
    // burst of 5 (5x the rate of 1/s) plus what refilled while the flood ran
    expect(spam).toBeGreaterThanOrEqual(5)
    expect(spam).toBeLessThan(20)
    expect(alice.sink.events.filter((e) => e.event === 'broadcast_throttled').map((e) => e.peer)).toEqual([
      flood.peerId.toString(),
    ])
  })
})
