import { afterEach, describe, expect, it, vi } from 'vitest'
import { encodeKeyFile, generateKey } from '../../src/home/mesh-key.js'
import { seen, startNode, type TestMesh, testMesh } from '../helpers/in-process.js'

describe('discovery and presence (in-process nodes)', () => {
  let mesh: TestMesh
  afterEach(async () => {
    await mesh.cleanup()
  })

  it('three nodes find each other over mDNS', async () => {
    mesh = testMesh()
    const [a, b, c] = await Promise.all(
      ['alice', 'bob', 'carol'].map((name) => startNode(mesh, { name, caps: [`${name}-cap`] })),
    )
    await vi.waitFor(
      () => {
        expect(seen(a!)).toEqual(['bob', 'carol'])
        expect(seen(b!)).toEqual(['alice', 'carol'])
        expect(seen(c!)).toEqual(['alice', 'bob'])
      },
      { timeout: 10_000, interval: 50 },
    )
    const bobOnAlice = a!.presence.peers().find((p) => p.card.name === 'bob')!
    expect(bobOnAlice.id).toBe(b!.peerId.toString())
    expect(bobOnAlice.card.caps).toEqual(['bob-cap'])
  })

  it('three nodes find each other over --peer with mDNS off, also those only reached through others', async () => {
    mesh = testMesh()
    const a = await startNode(mesh, { name: 'alice', mdns: false })
    const addr = a.libp2p.getMultiaddrs()[0]!.toString()
    // b and c only know alice; they learn of each other through alice's gossip or by dialling announced addrs
    const b = await startNode(mesh, { name: 'bob', mdns: false, peers: [addr] })
    const c = await startNode(mesh, { name: 'carol', mdns: false, peers: [addr] })
    await vi.waitFor(
      () => {
        expect(seen(a)).toEqual(['bob', 'carol'])
        expect(seen(b)).toEqual(['alice', 'carol'])
        expect(seen(c)).toEqual(['alice', 'bob'])
      },
      { timeout: 15_000, interval: 50 },
    )
  })

  it('a node with another mesh key is never connected and never listed', async () => {
    mesh = testMesh()
    const a = await startNode(mesh, { name: 'alice' })
    const b = await startNode(mesh, { name: 'bob' })
    const outsider = await startNode(mesh, {
      name: 'mallory',
      env: { ...mesh.env, CLAWLINK_KEY: encodeKeyFile(generateKey()) },
      peers: [a.libp2p.getMultiaddrs()[0]!.toString()],
    })
    expect(outsider.meshKey.fingerprint).not.toBe(a.meshKey.fingerprint)
    await vi.waitFor(() => expect(seen(a)).toEqual(['bob']), { timeout: 10_000, interval: 50 })
    // pnet fails the handshake only after its timeout; give it time to try (mDNS and --peer both dial)
    await new Promise((r) => setTimeout(r, 8_000))
    expect(seen(a)).toEqual(['bob'])
    expect(seen(b)).toEqual(['alice'])
    expect(seen(outsider)).toEqual([])
    expect(a.presence.peers().map((p) => p.card.name)).not.toContain('mallory')
    expect(a.libp2p.getConnections(outsider.peerId)).toHaveLength(0)
    expect(outsider.libp2p.getConnections()).toHaveLength(0)
    // and the outsider said why it could not get in
    expect(outsider.sink.events.some((e) => e.event === 'dial_failed')).toBe(true)
  }, 30_000)

  it('marks a silent peer stale, then offline, and a leaving peer offline at once', async () => {
    mesh = testMesh()
    // a leave must win against the silence timeout even on a loaded machine (the whole suite on two
    // cores): 8 s without a heartbeat before a peer times out, far longer than a leave notice takes
    // (it lost to 4 s under a load average above 20)
    const timing = { heartbeatInterval: 200, staleAfter: 4_000, offlineAfter: 4_000 }
    const a = await startNode(mesh, { name: 'alice', ...timing })
    const b = await startNode(mesh, { name: 'bob', ...timing })
    const c = await startNode(mesh, { name: 'carol', ...timing })
    await vi.waitFor(() => expect(seen(a)).toEqual(['bob', 'carol']), { timeout: 10_000, interval: 50 })

    // carol leaves gracefully: offline at once, with reason "left"
    await c.stop()
    // wait for the log line as well as the table: the event may reach the log a moment later
    await vi.waitFor(
      () => {
        expect(seen(a, 'offline')).toEqual(['carol'])
        const left = a.sink.events.find((e) => e.event === 'peer_offline' && e.name === 'carol')
        expect(left?.reason).toBe('left')
      },
      { timeout: 6_000, interval: 20 },
    )

    // bob falls silent without leaving (its heartbeats stop, its connection drops)
    const bobPresence = b.presence as unknown as { beforeStop(): Promise<void> }
    // silence bob: stop its libp2p without the leave notice
    bobPresence.beforeStop = async () => {}
    await b.libp2p.stop()
    expect(seen(a)).toContain('bob')
    await vi.waitFor(() => expect(seen(a, 'stale')).toEqual(['bob']), { timeout: 10_000, interval: 20 })
    await vi.waitFor(() => expect(seen(a, 'offline')).toEqual(['bob', 'carol']), {
      timeout: 10_000,
      interval: 20,
    })
    // the log reports each transition once, in order
    await vi.waitFor(
      () => {
        const events = a.sink.events.filter((e) => e.name === 'bob').map((e) => e.event)
        expect(events).toEqual(['peer_online', 'peer_stale', 'peer_offline'])
      },
      { timeout: 1_000, interval: 20 },
    )
    expect(a.sink.events.find((e) => e.event === 'peer_offline' && e.name === 'bob')?.reason).toBe(
      'timed out',
    )
  }, 45_000)
})
