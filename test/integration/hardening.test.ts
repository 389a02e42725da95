// Who gets in: keyed vs open meshes, the allow-list, and bans for peers that keep misbehaving.
import { lpStream } from '@libp2p/utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { freePort, seen, startNode, type TestMesh, testMesh } from '../helpers/in-process.js'

describe('hardening (in-process nodes)', () => {
  let mesh: TestMesh
  afterEach(async () => {
    await mesh.cleanup()
  })

  it('an open node and a keyed node never connect, and both say so', async () => {
    mesh = testMesh()
    const port = await freePort()
    // each knows the other's address and keeps dialling it
    const keyed = await startNode(mesh, { name: 'keyed', mdns: false, peers: [`/ip4/127.0.0.1/tcp/${port}`] })
    const open = await startNode(mesh, {
      name: 'open',
      mdns: false,
      open: true,
      listen: [`/ip4/127.0.0.1/tcp/${port}`],
      peers: [keyed.libp2p.getMultiaddrs()[0]!.toString()],
    })
    expect(open.meshKey.source).toBe('open')
    expect(open.sink.events.some((e) => e.event === 'open_mesh')).toBe(true)
    await vi.waitFor(
      () => {
        expect(keyed.sink.events.some((e) => e.event === 'dial_failed')).toBe(true)
        expect(open.sink.events.some((e) => e.event === 'dial_failed')).toBe(true)
      },
      { timeout: 20_000, interval: 100 },
    )
    expect(seen(keyed)).toEqual([])
    expect(seen(open)).toEqual([])
    expect(open.libp2p.getConnections()).toHaveLength(0)
    expect(keyed.libp2p.getConnections()).toHaveLength(0)
  }, 30_000)

  it('the allow-list admits listed peers only', async () => {
    mesh = testMesh()
    const friend = await startNode(mesh, { name: 'friend', mdns: false })
    const stranger = await startNode(mesh, { name: 'stranger', mdns: false })
    const a = await startNode(mesh, {
      name: 'alice',
      mdns: false,
      allow: [friend.peerId.toString()],
      peers: [friend.libp2p.getMultiaddrs()[0]!.toString(), stranger.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(() => expect(seen(a)).toEqual(['friend']), { timeout: 10_000 })
    // the stranger's handshake completes on its side, then alice's gater drops it
    await stranger.libp2p.dial(a.libp2p.getMultiaddrs()[0]!).catch(() => {})
    await vi.waitFor(() => expect(stranger.libp2p.getConnections(a.peerId)).toHaveLength(0), {
      timeout: 5_000,
    })
    await new Promise((r) => setTimeout(r, 1_000))
    expect(seen(a)).toEqual(['friend'])
    expect(seen(stranger)).toEqual([])
    expect(a.libp2p.getConnections(stranger.peerId)).toHaveLength(0)
  })

  it('bans a peer that keeps sending garbage, without affecting others', async () => {
    mesh = testMesh()
    const a = await startNode(mesh, { name: 'alice', mdns: false })
    const m = await startNode(mesh, {
      name: 'mallory',
      mdns: false,
      peers: [a.libp2p.getMultiaddrs()[0]!.toString()],
    })
    const b = await startNode(mesh, {
      name: 'bob',
      mdns: false,
      peers: [a.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(() => expect(seen(a)).toEqual(['bob', 'mallory']), { timeout: 10_000 })
    for (let i = 0; i < 25 && a.libp2p.getConnections(m.peerId).length > 0; i++) {
      try {
        const stream = await m.libp2p.dialProtocol(a.peerId, a.tasks.protocol)
        const lp = lpStream(stream)
        await lp.write(Uint8Array.from([0xff, 0xff, 0xff, 0x0f, 1]))
        await lp.read().catch(() => {})
      } catch {}
    }
    await vi.waitFor(
      () =>
        expect(a.sink.events.some((e) => e.event === 'peer_banned' && e.peer === m.peerId.toString())).toBe(
          true,
        ),
      {
        timeout: 10_000,
      },
    )
    await vi.waitFor(() => expect(a.libp2p.getConnections(m.peerId)).toHaveLength(0), { timeout: 5_000 })
    await m.libp2p.dial(a.libp2p.getMultiaddrs()[0]!).catch(() => {})
    await vi.waitFor(() => expect(m.libp2p.getConnections(a.peerId)).toHaveLength(0), { timeout: 5_000 })
    expect(a.libp2p.getConnections(m.peerId)).toHaveLength(0)
    expect(a.guard.isBanned(m.peerId.toString())).toBe(true)
    // bob is untouched
    expect(a.libp2p.getConnections(b.peerId).length).toBeGreaterThan(0)
    const t = await b.tasks.delegate({
      peer: a.peerId.toString(),
      peerName: 'alice',
      task: 'still fine',
      context: null,
      priority: 'normal',
      ttl: 60_000,
    })
    await vi.waitFor(() => expect(a.inbox.take(10, true).map((e) => e.id)).toContain(t.id), {
      timeout: 10_000,
    })
  })

  it('throttles a peer that sends tasks too fast, and still delivers every task once', async () => {
    mesh = testMesh()
    const bob = await startNode(mesh, { name: 'bob', mdns: false, maxInbox: 10_000, taskRate: 40 })
    const alice = await startNode(mesh, {
      name: 'alice',
      mdns: false,
      peers: [bob.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(() => expect(seen(alice)).toEqual(['bob']), { timeout: 10_000 })
    const ids = new Set<string>()
    for (let i = 0; i < 400; i++) {
      ids.add(
        (
          await alice.tasks.delegate({
            peer: bob.peerId.toString(),
            peerName: 'bob',
            task: `t${i}`,
            context: null,
            priority: 'normal',
            ttl: 300_000,
          })
        ).id,
      )
    }
    await vi.waitFor(() => expect(bob.sink.events.some((e) => e.event === 'task_throttled')).toBe(true), {
      timeout: 20_000,
    })
    await vi.waitFor(() => expect(bob.inbox.unseenCount()).toBe(400), { timeout: 60_000, interval: 250 })
    const got = bob.inbox.take(2000, false).map((e) => e.id)
    expect(new Set(got)).toEqual(ids)
    expect(got).toHaveLength(400)
    // throttling is not an offence: alice is not banned
    expect(bob.guard.isBanned(alice.peerId.toString())).toBe(false)
  }, 90_000)
})
