import { afterEach, describe, expect, it, vi } from 'vitest'
import { freePort, seen, startNode, type TestMesh, testMesh } from '../helpers/in-process.js'

describe('redial and remembered peers', () => {
  let mesh: TestMesh
  afterEach(async () => {
    await mesh.cleanup()
  })

  it('keeps dialling a --peer that is not up yet, and connects when it starts', async () => {
    mesh = testMesh()
    const port = await freePort()
    const a = await startNode(mesh, { name: 'alice', mdns: false, peers: [`/ip4/127.0.0.1/tcp/${port}`] })
    await new Promise((r) => setTimeout(r, 1_500))
    expect(a.sink.events.some((e) => e.event === 'dial_failed')).toBe(true)
    const b = await startNode(mesh, { name: 'bob', mdns: false, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    await vi.waitFor(
      () => {
        expect(seen(a)).toEqual(['bob'])
        expect(seen(b)).toEqual(['alice'])
      },
      { timeout: 15_000, interval: 50 },
    )
  })

  it('remembers peers across a restart and redials them without --peer or mDNS', async () => {
    mesh = testMesh()
    const b = await startNode(mesh, { name: 'bob', mdns: false })
    const a = await startNode(mesh, {
      name: 'alice',
      mdns: false,
      peers: [b.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(() => expect(seen(a)).toEqual(['bob']), { timeout: 10_000, interval: 50 })
    const alicePeerId = a.peerId.toString()
    await a.stop()
    mesh.nodes.splice(mesh.nodes.indexOf(a), 1)
    // alice comes back with no way to find bob but her own memory
    const again = await startNode(mesh, { name: 'alice', mdns: false })
    expect(again.peerId.toString()).toBe(alicePeerId)
    await vi.waitFor(
      () => {
        expect(seen(again)).toEqual(['bob'])
        expect(seen(b)).toEqual(['alice'])
      },
      { timeout: 10_000, interval: 50 },
    )
  })

  it('reconnects to a peer whose connection dropped', async () => {
    mesh = testMesh()
    const a = await startNode(mesh, { name: 'alice', mdns: false })
    const b = await startNode(mesh, {
      name: 'bob',
      mdns: false,
      peers: [a.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(() => expect(seen(a)).toEqual(['bob']), { timeout: 10_000, interval: 50 })
    // cut every connection from alice's side: bob's redialer (and alice's) bring it back
    await a.libp2p.hangUp(b.peerId)
    expect(a.libp2p.getConnections(b.peerId)).toHaveLength(0)
    await vi.waitFor(() => expect(a.libp2p.getConnections(b.peerId).length).toBeGreaterThan(0), {
      timeout: 10_000,
      interval: 50,
    })
    expect(seen(a)).toEqual(['bob'])
  })
})
