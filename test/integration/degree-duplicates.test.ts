// Ring neighbours want each other; when both dialled at once a pair kept two connections (each pinged,
// kept alive and identified separately). Of a pair the smaller peer id dials first (degree-keeper.ts).
// Ten real nodes over the simulation's in-memory links, each given two others as bootstrap peers: with
// the default --max-peers 10 every node wants every other as a neighbour.
import { afterEach, describe, expect, it } from 'vitest'
import { type SimCore, SimNetwork, waitFor } from '../../bench/simulate/network.js'
import * as core from '../../src/core/index.js'
import { encodeKeyFile, generateKey } from '../../src/home/mesh-key.js'

const CORE: SimCore = { ...core, encodeKeyFile, generateKey }
const NODES = 10

describe('bounded degree: one connection per neighbour', () => {
  let net: SimNetwork | undefined
  afterEach(async () => {
    await net?.close()
    net = undefined
  })

  it('neighbours that want each other end up with one connection between them, not two', async () => {
    net = new SimNetwork({ core: CORE, latency: 5, dials: 2 })
    await net.grow(NODES, 5)
    expect(net.failures).toEqual([])
    const peersOf = (n: SimNetwork['nodes'][number]) =>
      n.node!.libp2p.getConnections().map((c) => c.remotePeer.toString())
    // most pairs connected (under load a node can lag behind; the pairs that formed are what counts)
    const pairs = () => net!.up().reduce((sum, n) => sum + new Set(peersOf(n)).size, 0) / 2
    const formed = await waitFor(() => pairs() >= 0.8 * ((NODES * (NODES - 1)) / 2), 90_000, 100)
    expect(formed, `peers connected: ${net.up().map((n) => new Set(peersOf(n)).size)}`).toBe(true)
    // dials in flight when the last pair connected have landed by now
    await new Promise((r) => setTimeout(r, 1_000))
    const duplicates = net.up().map((n) => peersOf(n).length - new Set(peersOf(n)).size)
    expect(duplicates).toEqual(Array(NODES).fill(0))
  }, 180_000)
})
