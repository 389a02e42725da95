// The issue-17 simulation harness (bench/simulate) on a small network, so it cannot rot: real nodes
// (createNode with the node's own stack) over libp2p's in-memory transport with 5 ms links, each
// dialling a few random others. They must all list each other, deliver every broadcast to everyone,
// count their traffic, and take a node that leaves and comes back.
import { afterEach, describe, expect, it } from 'vitest'
import {
  type SimNetwork as Network,
  type SimCore,
  SimNetwork,
  waitFor,
} from '../../bench/simulate/network.js'
import * as core from '../../src/core/index.js'
import { encodeKeyFile, generateKey } from '../../src/home/mesh-key.js'
import { TOPIC as KNOWLEDGE_TOPIC } from '../../src/protocols/knowledge/constants.js'

const CORE: SimCore = { ...core, encodeKeyFile, generateKey }
const NODES = 20

describe('simulation harness (in-memory transport)', () => {
  let net: Network | undefined
  afterEach(async () => {
    await net?.close()
    net = undefined
  })

  it('20 nodes on 5 ms virtual links converge, every broadcast reaches all, and a node rejoins', async () => {
    net = new SimNetwork({ core: CORE, latency: 5, dials: 3 })
    // paced: each batch of 5 holds a connection before the next starts (a loaded host is not swamped)
    await net.grow(NODES, 5, 10_000)
    expect(net.failures).toEqual([])
    expect(net.up()).toHaveLength(NODES)
    // every connection is a virtual link, not TCP
    for (const n of net.up()) {
      for (const c of n.node!.libp2p.getConnections()) expect(c.remoteAddr.toString()).toMatch(/^\/memory\//)
    }
    expect(await waitFor(() => net!.converged(), 120_000, 200), `${net.missing()} listings missing`).toBe(
      true,
    )

    // presence lists everyone before gossipsub has told each node which of its peers subscribe to
    // broadcasts; a broadcast published before then skips those it does not know of yet (anti-entropy
    // brings it later, past this test's wait). Wait for that, the event the broadcasts need.
    const subscribed = () =>
      net!.up().every((n) => {
        const subs = new Set(n.node!.libp2p.services.pubsub.getSubscribers(KNOWLEDGE_TOPIC).map(String))
        return n.node!.libp2p.getConnections().every((c) => subs.has(c.remotePeer.toString()))
      })
    expect(await waitFor(subscribed, 30_000, 50), 'every node knows its peers subscribe').toBe(true)

    for (let i = 0; i < 3; i++) {
      const author = net.up()[(i * 7) % NODES]!
      const b = await author.node!.knowledgeService.publish({ content: `sim ${i}`, topic: 'sim' })
      const others = net.up().filter((n) => n !== author)
      const reached = await waitFor(() => others.every((n) => n.arrivals.has(b.id)), 20_000)
      expect(
        reached,
        `${others.filter((n) => !n.arrivals.has(b.id)).length} nodes missed broadcast ${i}`,
      ).toBe(true)
    }

    // traffic is counted at the transport and per protocol
    const t = net.up()[0]!.traffic.snapshot()
    expect(t.sent.bytes).toBeGreaterThan(0)
    expect(t.received.messages).toBeGreaterThan(0)
    expect(Object.keys(t.protocols)).toContain('/meshsub/1.2.0')

    // churn: one node leaves, the others list it no more; it comes back and everyone lists everyone
    const leaver = net.up()[NODES - 1]!
    await net.stop(leaver)
    expect(await waitFor(() => net!.converged(), 30_000, 200)).toBe(true)
    await net.start(leaver)
    expect(leaver.node).toBeDefined()
    expect(await waitFor(() => net!.converged() && net!.up().length === NODES, 120_000, 200)).toBe(true)
  }, 400_000)
})
