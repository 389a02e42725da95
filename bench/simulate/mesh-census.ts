// The knowledge topic's gossipsub mesh around each node at one moment. Taken when a broadcast goes out
// and again at its delivery deadline for the nodes it missed, it tells a late delivery's cause apart: a
// node no mesh peer forwarded to (it waits for IHAVE gossip or an anti-entropy sync), or one the mesh
// should have reached.
import type { SimNode } from './network.ts'

export interface MeshView {
  /** peers in the node's own mesh for the topic */
  out: number
  /** nodes that hold it in their mesh for the topic: they forward each message to it */
  in: number
  /** its open connections */
  connections: number
  /** its peers subscribed to the topic, as its gossipsub knows them */
  subscribers: number
}

interface MeshPubsub {
  getMeshPeers(topic: string): string[]
  getSubscribers(topic: string): unknown[]
}

function pubsubOf(n: SimNode): MeshPubsub | undefined {
  const libp2p = n.node?.libp2p as unknown as { services?: { pubsub?: MeshPubsub } } | undefined
  return libp2p?.services?.pubsub
}

/** Each running node's view, by node index; `only` limits the result (not the inbound count) to some. */
export function meshCensus(nodes: SimNode[], topic: string, only?: Set<number>): Map<number, MeshView> {
  const inbound = new Map<string, number>()
  for (const n of nodes) {
    for (const p of pubsubOf(n)?.getMeshPeers(topic) ?? []) inbound.set(p, (inbound.get(p) ?? 0) + 1)
  }
  const views = new Map<number, MeshView>()
  for (const n of nodes) {
    const ps = pubsubOf(n)
    if (ps == null || n.node == null || (only != null && !only.has(n.index))) continue
    views.set(n.index, {
      out: ps.getMeshPeers(topic).length,
      in: inbound.get(n.node.libp2p.peerId.toString()) ?? 0,
      connections: n.node.libp2p.getConnections().length,
      subscribers: ps.getSubscribers(topic).length,
    })
  }
  return views
}
