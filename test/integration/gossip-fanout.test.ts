// What gossip costs an idle mesh (issue 17): every gossipsub frame a node receives or sends goes
// through yamux, Noise, pnet and a socket write, about half a millisecond of CPU each on the benchmark
// machine. With libp2p's defaults, every heartbeat (1 s) a node sends IHAVE gossip to 6 peers outside
// its mesh about the last three heartbeats' messages, though its mesh has delivered them all: at idle
// that was half of a node's gossip frames. The node's settings (GOSSIP_MESH in
// src/core/libp2p-config.ts) send it to 2 peers about the last heartbeat's messages only, and keep a
// mesh of 4 (3-6) peers, so that a message arrives in fewer copies than at libp2p's 6 (4-12). Twenty
// in-process nodes over loopback TCP, presence heartbeats paced to about one a second mesh-wide,
// every gossipsub RPC counted as it is received.
import type { Message } from '@libp2p/gossipsub'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ClawLinkNode } from '../../src/core/index.js'
import { TOPIC } from '../../src/protocols/presence/constants.js'
import { seen, startNode, type TestMesh, testMesh } from '../helpers/in-process.js'

interface Census {
  /** presence messages received, copies included */
  copies: number
  /** distinct presence messages delivered to the application */
  delivered: number
  /** RPCs carrying IHAVE */
  ihave: number
}

function count(node: ClawLinkNode, census: Census): void {
  const ps = node.libp2p.services.pubsub as unknown as {
    handleReceivedRpc(
      from: unknown,
      rpc: { messages?: Array<{ topic?: string }>; control?: { ihave?: unknown[] } },
    ): Promise<void>
  }
  const handle = ps.handleReceivedRpc.bind(ps)
  ps.handleReceivedRpc = (from, rpc) => {
    census.copies += (rpc.messages ?? []).filter((m) => m.topic === TOPIC).length
    if ((rpc.control?.ihave?.length ?? 0) > 0) census.ihave++
    return handle(from, rpc)
  }
  node.libp2p.services.pubsub.addEventListener('message', (evt: CustomEvent<Message>) => {
    if (evt.detail.topic === TOPIC) census.delivered++
  })
}

/** Peers in this node's presence mesh (the class has the method; its exported interface does not). */
function meshPeers(node: ClawLinkNode): number {
  return (node.libp2p.services.pubsub as unknown as { getMeshPeers(topic: string): string[] }).getMeshPeers(
    TOPIC,
  ).length
}

describe('gossip fan-out at idle (in-process nodes)', () => {
  let mesh: TestMesh
  afterEach(async () => {
    await mesh.cleanup()
  })

  it('IHAVE gossip goes to at most 2 peers a heartbeat, a heartbeat arrives in at most 6 copies, and still reaches everyone', async () => {
    mesh = testMesh()
    const n = 20
    const nodes: ClawLinkNode[] = []
    for (let i = 0; i < n; i++) {
      const peers = i > 0 ? [nodes[0]!.libp2p.getMultiaddrs()[0]!.toString()] : []
      // 20 nodes, one heartbeat each per 20 s (5 s stretched by presence's pace: 20 members / 5), about
      // one a second mesh-wide
      nodes.push(await startNode(mesh, { name: `g${i}`, peers, mdns: false, heartbeatInterval: 5_000 }))
    }
    await vi.waitFor(
      () => {
        for (const node of nodes) expect(seen(node)).toHaveLength(n - 1)
      },
      { timeout: 40_000, interval: 200 },
    )
    // meshes settle over a few gossipsub heartbeats (1 s) after the last join
    await vi.waitFor(
      () => {
        for (const node of nodes) expect(meshPeers(node)).toBeGreaterThan(0)
      },
      { timeout: 20_000, interval: 200 },
    )
    const census: Census = { copies: 0, delivered: 0, ihave: 0 }
    for (const node of nodes) count(node, census)
    const t0 = performance.now()
    // about 30 heartbeats, each delivered to 19 nodes
    await vi.waitFor(() => expect(census.delivered).toBeGreaterThan(30 * (n - 1)), {
      timeout: 50_000,
      interval: 100,
    })
    const seconds = (performance.now() - t0) / 1000
    const ihavePerNodeSecond = census.ihave / n / seconds
    const copiesPerMessage = census.copies / census.delivered
    // at most 2 peers a heartbeat (1 s). Measured here: 4.7 a second with libp2p's defaults, 1.2 with
    // ours. (Before session 7 the nodes' heartbeats bunched, so fewer gossipsub heartbeats had a message
    // to tell of: 1.7 and 0.6; they now spread evenly over the interval, as the pace intends.)
    expect(
      ihavePerNodeSecond,
      `IHAVE RPCs per node per second (copies per message ${copiesPerMessage.toFixed(1)})`,
    ).toBeLessThanOrEqual(2)
    // the mesh still delivers: a heartbeat arrives in more than one copy, and nobody lists anybody less;
    // but in about one copy per mesh peer of a D 4 (3-6) mesh, not of a D 6 (4-12) one, each copy a
    // frame through yamux, Noise and pnet. Measured here: 5.1 copies (the first one included) at D 4,
    // 7.1 at D 6
    expect(copiesPerMessage).toBeGreaterThan(1)
    expect(copiesPerMessage).toBeLessThanOrEqual(6)
    for (const node of nodes) expect(seen(node)).toHaveLength(n - 1)
  }, 150_000)
})
