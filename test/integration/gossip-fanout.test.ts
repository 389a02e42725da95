// What one gossip message costs an idle mesh (issue 17): every copy a node receives or sends is a
// frame through yamux, Noise, pnet and a socket write, about half a millisecond of CPU each on the
// benchmark machine. The node's gossipsub settings (src/core/libp2p-config.ts) keep a small mesh
// degree (D 3, at most 4) and send IHAVE gossip to two peers about the last heartbeat's messages only;
// libp2p's defaults (D 6 up to 12, IHAVE to 6 peers about three heartbeats) cost about 1.9 times the
// frames at idle. Twenty in-process nodes over loopback TCP, presence heartbeats every 2 s so that
// the count is taken in seconds, every gossipsub RPC counted as it is received.
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

  it('a presence heartbeat reaches a node in at most 4 copies, and IHAVE gossip goes to at most 2 peers a heartbeat', async () => {
    mesh = testMesh()
    const n = 20
    const nodes: ClawLinkNode[] = []
    for (let i = 0; i < n; i++) {
      const peers = i > 0 ? [nodes[0]!.libp2p.getMultiaddrs()[0]!.toString()] : []
      nodes.push(await startNode(mesh, { name: `g${i}`, peers, mdns: false, heartbeatInterval: 2_000 }))
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
    // enough heartbeats to count: every node hears about 10 a second
    await vi.waitFor(() => expect(census.delivered).toBeGreaterThan(n * 60), {
      timeout: 40_000,
      interval: 100,
    })
    const seconds = (performance.now() - t0) / 1000
    const copiesPerMessage = census.copies / census.delivered
    const ihavePerNodeSecond = census.ihave / n / seconds
    // defaults: about 5.7 copies per message and 5-6 IHAVE RPCs per node per heartbeat
    expect(copiesPerMessage).toBeLessThanOrEqual(4)
    expect(ihavePerNodeSecond).toBeLessThanOrEqual(2.5)
    // and every node still gets every message: nobody lists anybody less
    for (const node of nodes) expect(seen(node)).toHaveLength(n - 1)
  }, 120_000)
})
