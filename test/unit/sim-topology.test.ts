// The simulation's topology (bench/simulate/network.ts): each node is given bootstrap peers among the
// nodes already up. Nodes of one batch start at once, so a first batch with nobody up before it made
// islands that the later nodes bridged only by chance: ten nodes grown five at a time split into groups
// that never learned of each other (seen as 6 + 4 and 7 + 3 in degree-duplicates). Here the nodes are
// fakes that record the options they were started with: this tests the harness, not the node.
import { describe, expect, it } from 'vitest'
import { type SimCore, SimNetwork } from '../../bench/simulate/network.js'

/** A core whose nodes do nothing: createNode records the bootstrap addresses each node was given. */
function fakeCore(): SimCore {
  class EventLog {
    emit(): void {}
  }
  const node = {
    libp2p: { addEventListener() {}, getConnections: () => [] },
    inbox: { subscribe: () => () => {} },
    stop: async () => {},
  }
  return {
    EventLog,
    resolveNodeOptions: (input: unknown) => input,
    createNode: async () => {
      // the real createNode takes a while: the other nodes of the batch start meanwhile
      await new Promise((r) => setImmediate(r))
      return node
    },
    encodeKeyFile: () => 'key',
    generateKey: () => new Uint8Array(32),
  } as unknown as SimCore
}

/** How many connected groups the bootstrap links make (a link joins both ends, whoever dialled). */
function groups(net: SimNetwork): number {
  const parent = net.nodes.map((n) => n.index)
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i]!
    return i
  }
  for (const n of net.nodes) for (const b of n.bootstrap) parent[find(n.index)] = find(b)
  return new Set(net.nodes.map((n) => find(n.index))).size
}

describe('simulation topology', () => {
  it.each([
    { nodes: 10, batch: 5, dials: 2 },
    { nodes: 8, batch: 4, dials: 2 },
    { nodes: 40, batch: 10, dials: 1 },
  ])('$nodes nodes grown $batch at a time, $dials dials each, always form one group', async (shape) => {
    const split: number[][] = []
    for (let run = 0; run < 200; run++) {
      const net = new SimNetwork({ core: fakeCore(), latency: 5, dials: shape.dials, root: '/tmp' })
      try {
        await net.grow(shape.nodes, shape.batch)
        expect(net.failures).toEqual([])
        if (groups(net) !== 1) split.push(net.nodes.map((n) => n.bootstrap.length))
      } finally {
        await net.close()
      }
    }
    expect(split, 'runs whose bootstrap links left separate groups (peers given per node)').toEqual([])
  })

  it('a node restarted after churn is given peers among the nodes up, never itself', async () => {
    const net = new SimNetwork({ core: fakeCore(), latency: 5, dials: 3, root: '/tmp' })
    try {
      await net.grow(6, 3)
      const sim = net.nodes[2]!
      await net.stop(sim)
      await net.stop(net.nodes[4]!)
      await net.start(sim)
      expect(sim.bootstrap).toHaveLength(3)
      expect(sim.bootstrap).not.toContain(2)
      expect(sim.bootstrap).not.toContain(4)
    } finally {
      await net.close()
    }
  })
})
