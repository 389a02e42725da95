import type { Message } from '@libp2p/gossipsub'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ClawLinkNode } from '../../src/core/index.js'
import { TOPIC } from '../../src/protocols/presence/constants.js'
import { seen, startNode, type TestMesh, testMesh } from '../helpers/in-process.js'

/** Distinct presence messages published, as seen by the nodes that received them (issue 17). */
class PublishCounter {
  readonly ids = new Set<string>()
  private lastNew = performance.now()
  watch(node: ClawLinkNode): void {
    node.libp2p.services.pubsub.addEventListener('message', (evt: CustomEvent<Message>) => {
      const m = evt.detail
      if (m.topic !== TOPIC || m.type !== 'signed') return
      const id = `${m.from.toString()}/${m.sequenceNumber}`
      if (this.ids.has(id)) return
      this.ids.add(id)
      this.lastNew = performance.now()
    })
  }
  get count(): number {
    return this.ids.size
  }
  /**
   * Resolves once no new presence message has arrived for `quietMs` (at most `timeout` ms): a publish
   * in flight (a member's own join, or a storm after ours) is counted on the side it belongs to.
   */
  async quiet(quietMs: number, timeout = 20_000): Promise<void> {
    const end = performance.now() + timeout
    while (performance.now() - this.lastNew < quietMs) {
      if (performance.now() > end) throw new Error(`presence gossip did not settle in ${timeout} ms`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}

describe('presence on joining: member lists instead of a re-announce storm (in-process nodes)', () => {
  let mesh: TestMesh
  afterEach(async () => {
    await mesh.cleanup()
  })

  it('a newcomer connected to one member lists everyone at once, and one join costs O(1) presence publishes', async () => {
    mesh = testMesh()
    // heartbeats far apart: anything listed within this test came from the exchange or a join's own gossip
    const common = { mdns: false, heartbeatInterval: 600_000, maxPeers: 2 }
    const counter = new PublishCounter()
    const names = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5']
    const nodes: ClawLinkNode[] = []
    for (const name of names) {
      // a chain: each node is given only the previous one; --max-peers 2 keeps the mesh sparse
      const peers = nodes.length > 0 ? [nodes.at(-1)!.libp2p.getMultiaddrs()[0]!.toString()] : []
      const node = await startNode(mesh, { name, peers, ...common })
      counter.watch(node)
      nodes.push(node)
    }
    await vi.waitFor(
      () => {
        for (const n of nodes) expect(seen(n)).toHaveLength(names.length - 1)
      },
      { timeout: 20_000, interval: 50 },
    )
    // the last member's own join may still be in flight (a publish that reached nobody goes out again
    // with gossip at the next heartbeat): it belongs before the newcomer's join
    await counter.quiet(1_500)
    const before = counter.count

    const first = nodes[0]!
    const newcomer = await startNode(mesh, {
      name: 'newcomer',
      peers: [first.libp2p.getMultiaddrs()[0]!.toString()],
      ...common,
    })
    counter.watch(newcomer)
    await vi.waitFor(
      () => {
        expect(seen(newcomer)).toEqual(names)
        for (const n of nodes) expect(seen(n)).toContain('newcomer')
      },
      { timeout: 10_000, interval: 50 },
    )
    // the newcomer is not connected to everyone: it learnt most members from member lists
    expect(newcomer.libp2p.getConnections().length).toBeLessThan(names.length)
    const relayed = newcomer.presence.peers().filter((p) => !newcomer.isConnected(p.id))
    expect(relayed.length).toBeGreaterThan(0)
    // a re-announce storm would follow the join within its debounce (200 ms): watch until gossip settles
    await counter.quiet(1_500)
    const publishes = counter.count - before
    // the newcomer's own announcement (once it has topic peers), perhaps one more; not one per member
    expect(publishes).toBeGreaterThanOrEqual(1)
    expect(publishes).toBeLessThanOrEqual(2)
  }, 60_000)
})
