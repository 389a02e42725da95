// A suspicion is only a suspicion: the suspected peer, if alive, hears it in gossip and announces at
// once, and every member (the suspecter too) lists it online again. A wrong suspicion costs one
// announcement, not a member.
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ClawLinkNode } from '../../src/core/index.js'
import { seen, startNode, type TestMesh, testMesh } from '../helpers/in-process.js'

/** What presence does when a link broke and the dial back failed (LinkWatch's report). */
const loses = (node: ClawLinkNode, peer: ClawLinkNode) =>
  (node.presence as unknown as { suspicion: { lost(p: typeof peer.peerId): void } }).suspicion.lost(
    peer.peerId,
  )

describe('a wrong suspicion', () => {
  let mesh: TestMesh
  afterEach(async () => {
    await mesh.cleanup()
  })

  it('is answered by the suspected peer, and everyone lists it online again', async () => {
    mesh = testMesh()
    // heartbeats an hour apart: only the answer to the suspicion can bring bob back
    const timing = { mdns: false, heartbeatInterval: 3_600_000, staleAfter: 7_200_000 }
    const a = await startNode(mesh, { name: 'alice', ...timing })
    const peers = [a.libp2p.getMultiaddrs()[0]!.toString()]
    const b = await startNode(mesh, { name: 'bob', peers, ...timing })
    const c = await startNode(mesh, { name: 'carol', peers, ...timing })
    await vi.waitFor(() => expect(seen(c)).toEqual(['alice', 'bob']), { timeout: 15_000 })
    await vi.waitFor(() => expect(seen(a)).toEqual(['bob', 'carol']), { timeout: 15_000 })
    // carol must hear alice's gossip: wait until alice's mesh for presence reaches her
    await vi.waitFor(() => expect(a.libp2p.services.pubsub.getSubscribers(a.presence.topic).length).toBe(2), {
      timeout: 15_000,
    })
    await vi.waitFor(() => expect(seen(b)).toEqual(['alice', 'carol']), { timeout: 15_000 })
    const bobSeq = () => a.presence.peers().find((p) => p.card.name === 'bob')!.seq
    // bob may still announce a changed card (addresses learnt at start): wait until he has been quiet for
    // a second, so that only an answer to the suspicion can move his seq afterwards
    let last = { seq: bobSeq(), at: Date.now() }
    await vi.waitFor(
      () => {
        if (bobSeq() !== last.seq) last = { seq: bobSeq(), at: Date.now() }
        expect(Date.now() - last.at).toBeGreaterThanOrEqual(1_000)
      },
      { timeout: 15_000, interval: 50 },
    )

    // what bob publishes on the presence topic from now on (his heartbeat is an hour away)
    const pubsub = b.libp2p.services.pubsub
    const publish = pubsub.publish.bind(pubsub)
    let answers = 0
    pubsub.publish = (topic: string, data?: Uint8Array) => {
      if (topic === b.presence.topic) answers++
      return publish(topic, data)
    }
    const before = bobSeq()
    loses(a, b)
    // alice holds bob stale at once, and says so in her log
    expect(seen(a, 'stale')).toEqual(['bob'])
    const stale = a.sink.events.find((e) => e.event === 'peer_stale' && e.name === 'bob')
    expect(stale).toMatchObject({ reason: 'unreachable', by: a.peerId.toString() })
    // bob answers in gossip: a newer message, and alice and carol list him online again
    await vi.waitFor(() => expect(answers).toBe(1), { timeout: 15_000, interval: 20 })
    await vi.waitFor(
      () => {
        expect(seen(a)).toEqual(['bob', 'carol'])
        expect(bobSeq()).toBeGreaterThan(before)
      },
      { timeout: 15_000, interval: 20 },
    )
    await vi.waitFor(() => expect(seen(c)).toEqual(['alice', 'bob']), { timeout: 15_000, interval: 20 })
    expect(a.sink.events.filter((e) => e.name === 'bob').map((e) => e.event)).toEqual([
      'peer_online',
      'peer_stale',
      'peer_online',
    ])
    // carol heard the suspicion too (she went through stale), or bob's answer came first: either way
    // no one lists bob offline, and bob lists everyone
    expect(seen(c, 'offline')).toEqual([])
    expect(seen(b)).toEqual(['alice', 'carol'])
  }, 45_000)
})
