// Ring neighbours want each other; when both dialled at once a pair kept two connections (each pinged,
// kept alive and identified separately). Of a pair the smaller peer id dials first (degree-keeper.ts).
// Ten real nodes over the simulation's in-memory links, each given two others as bootstrap peers: with
// the default --max-peers 10 every node wants every other as a neighbour.
import { afterEach, describe, expect, it } from 'vitest'
import { type SimCore, SimNetwork, waitFor } from '../../bench/simulate/network.js'
import { VirtualClock } from '../../bench/simulate/virtual-clock.js'
import * as core from '../../src/core/index.js'
import { encodeKeyFile, generateKey } from '../../src/home/mesh-key.js'

const CORE: SimCore = { ...core, encodeKeyFile, generateKey }
const NODES = 10

describe('bounded degree: one connection per neighbour', () => {
  let net: SimNetwork | undefined
  let clock: VirtualClock | undefined
  afterEach(async () => {
    await net?.close()
    net = undefined
    clock?.uninstall()
    clock = undefined
  })

  it('neighbours that want each other end up with one connection between them, not two', async () => {
    // in virtual time (bench/simulate/virtual-clock.ts): on a loaded host (CI) ten nodes sharing one
    // core in real time could take longer than any timeout to dial each other
    clock = new VirtualClock(2).install()
    void clock.drive()
    const peersOf = (n: SimNetwork['nodes'][number]) =>
      n.node!.libp2p.getConnections().map((c) => c.remotePeer.toString())
    const pairs = () => net!.up().reduce((sum, n) => sum + new Set(peersOf(n)).size, 0) / 2
    // Sometimes the ten split into two groups that never learn of each other (e.g. 7 and 3 nodes: a
    // known defect, issue 17, not this test's subject, which is duplicate connections): such a network
    // is built anew, at most 5 times.
    for (let attempt = 1; ; attempt++) {
      net = new SimNetwork({ core: CORE, latency: 5, dials: 2 })
      await net.grow(NODES, 5)
      expect(net.failures).toEqual([])
      // most pairs connected (the pairs that formed are what counts)
      if (await waitFor(() => pairs() >= 0.8 * ((NODES * (NODES - 1)) / 2), 90_000, 100)) break
      const why = `peers connected: ${net.up().map((n) => new Set(peersOf(n)).size)}`
      await net.close()
      net = undefined
      expect(attempt, `no mesh of ${NODES} formed in ${attempt} attempts: ${why}`).toBeLessThan(5)
    }
    // dials in flight when the last pair connected have landed by now
    await new Promise((r) => setTimeout(r, 1_000))
    const duplicates = net!.up().map((n) => peersOf(n).length - new Set(peersOf(n)).size)
    expect(duplicates).toEqual(Array(NODES).fill(0))
  }, 180_000)
})
