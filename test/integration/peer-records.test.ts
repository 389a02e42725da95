// Peer records are saved when a card or status changes; a heartbeat that only says "still here" is
// not a write of its own (it cost every node a commit every few seconds at idle).
import { afterEach, describe, expect, it, vi } from 'vitest'
import { seen, startNode, type TestMesh, testMesh } from '../helpers/in-process.js'

describe('peer records in the store', () => {
  let mesh: TestMesh
  afterEach(async () => {
    await mesh.cleanup()
  })

  it('are not rewritten for heartbeats with an unchanged card, and are all saved at stop', async () => {
    mesh = testMesh()
    const timing = { heartbeatInterval: 100, mdns: false }
    const a = await startNode(mesh, { name: 'alice', ...timing })
    const b = await startNode(mesh, {
      name: 'bob',
      ...timing,
      peers: [a.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(() => expect(seen(a)).toEqual(['bob']), { timeout: 10_000, interval: 50 })
    a.peers.flush() // bob's arrival (new card, status online) is written here
    const writes = vi.spyOn(a.store, 'upsertPeer')
    let refreshed = 0
    a.presence.addEventListener('peer:card', (evt) => {
      if (evt.detail.result === 'refreshed') refreshed++
    })
    await vi.waitFor(() => expect(refreshed).toBeGreaterThanOrEqual(5), { timeout: 10_000, interval: 20 })
    a.peers.flush()
    expect(writes).not.toHaveBeenCalled()
    a.peers.flush(true)
    expect(writes.mock.calls.map(([p]) => p.id)).toEqual([b.peerId.toString()])
  })
})
