// Ring neighbours want each other; when both dialled at once a pair kept two connections (each pinged,
// kept alive and identified separately). Of a pair the smaller peer id dials first (degree-keeper.ts).
// Ten real nodes over the simulation's in-memory links, each given two others as bootstrap peers: with
// the default --max-peers 10 every node wants every other as a neighbour.
import { afterEach, describe, expect, it } from 'vitest'
import { type SimCore, SimNetwork, waitFor } from '../../bench/simulate/network.js'
import * as core from '../../src/core/index.js'
import { encodeKeyFile, generateKey } from '../../src/home/mesh-key.js'
import { SimFixture } from '../helpers/sim.js'

const CORE: SimCore = { ...core, encodeKeyFile, generateKey }
const NODES = 10

describe('bounded degree: one connection per neighbour', () => {
  const sim = new SimFixture()
  afterEach(() => sim.cleanup())

  it('neighbours that want each other end up with one connection between them, not two', async () => {
    // in virtual time (bench/simulate/virtual-clock.ts): on a loaded host (CI) ten nodes sharing one
    // core in real time could take longer than any timeout to dial each other
    sim.virtualTime()
    const peersOf = (n: SimNetwork['nodes'][number]) =>
      n.node!.libp2p.getConnections().map((c) => c.remotePeer.toString())
    const pairs = (net: SimNetwork) => net.up().reduce((sum, n) => sum + new Set(peersOf(n)).size, 0) / 2
    const net = await sim.form(
      async () => {
        const net = new SimNetwork({ core: CORE, latency: 5, dials: 2 })
        await net.grow(NODES, 5)
        expect(net.failures).toEqual([])
        return net
      },
      // most pairs connected (the pairs that formed are what counts)
      (net) => waitFor(() => pairs(net) >= 0.8 * ((NODES * (NODES - 1)) / 2), 90_000, 100),
      (net) =>
        `no mesh of ${NODES} formed: peers connected: ${net.up().map((n) => new Set(peersOf(n)).size)}`,
    )
    // dials in flight when the last pair connected have landed by now
    await new Promise((r) => setTimeout(r, 1_000))
    const duplicates = net.up().map((n) => peersOf(n).length - new Set(peersOf(n)).size)
    expect(duplicates).toEqual(Array(NODES).fill(0))
  }, 180_000)
})
