// Many agents on one host share an IP (as do peers reached through one relay). Gossip must still carry
// heartbeats and broadcasts between all of them: gossipsub's default IP-colocation penalty graylisted
// every peer beyond the 10th from one address, so an 11th node's peers went stale while connected.
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ClawLinkNode } from '../../src/core/index.js'
import { seen, startNode, type TestMesh, testMesh } from '../helpers/in-process.js'

const N = 14

describe('many agents on one host', () => {
  let mesh: TestMesh
  afterEach(async () => {
    await mesh.cleanup()
  })

  it(`${N} nodes on 127.0.0.1 keep hearing each other's heartbeats and broadcasts`, async () => {
    mesh = testMesh()
    const timing = { mdns: false, heartbeatInterval: 1_000, staleAfter: 5_000, offlineAfter: 120_000 }
    const first = await startNode(mesh, { name: 'n0', ...timing })
    const bootstrap = [first.libp2p.getMultiaddrs()[0]!.toString()]
    const nodes: ClawLinkNode[] = [first]
    for (let i = 1; i < N; i++)
      nodes.push(await startNode(mesh, { name: `n${i}`, peers: bootstrap, ...timing }))
    const others = (i: number) =>
      nodes
        .map((_, j) => `n${j}`)
        .filter((_, j) => j !== i)
        .sort()
    await vi.waitFor(
      () => {
        for (const [i, n] of nodes.entries()) expect(seen(n)).toEqual(others(i))
      },
      { timeout: 30_000 },
    )

    // well past staleAfter: only heartbeats that arrive by gossip keep everyone online
    // (a peer whose gossip is ignored stays stale; one a busy host made late is online again soon)
    await new Promise((r) => setTimeout(r, 2 * timing.staleAfter))
    await vi.waitFor(
      () => {
        for (const [i, n] of nodes.entries()) expect(seen(n), `n${i}`).toEqual(others(i))
      },
      { timeout: 15_000 },
    )

    const b = await nodes[N - 1]!.knowledge.publish({ topic: 'general', tags: [], content: 'heard by all' })
    await vi.waitFor(
      () => {
        for (const n of nodes) expect(n.knowledgeStore.has(b.id)).toBe(true)
      },
      {
        timeout: 10_000,
      },
    )
  }, 90_000)
})
