// Agents that cannot reach each other directly, joined through a relay node of the mesh.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { seen, startNode, type TestMesh, testMesh } from '../helpers/in-process.js'

describe('relay (in-process nodes)', () => {
  let mesh: TestMesh
  afterEach(async () => {
    await mesh.cleanup()
  })

  it('two agents with no direct address see each other, delegate and broadcast through a relay', async () => {
    mesh = testMesh()
    const relay = await startNode(mesh, { name: 'relay', mdns: false, relayOnly: true })
    const relayAddr = relay.libp2p.getMultiaddrs()[0]!.toString()
    // no direct listener at all: the only way to reach them is the relay
    const a = await startNode(mesh, { name: 'alice', mdns: false, listen: [], relays: [relayAddr] })
    const b = await startNode(mesh, { name: 'bob', mdns: false, listen: [], relays: [relayAddr] })
    await vi.waitFor(
      () => {
        expect(a.libp2p.getMultiaddrs().some((m) => m.toString().includes('/p2p-circuit'))).toBe(true)
        expect(b.libp2p.getMultiaddrs().some((m) => m.toString().includes('/p2p-circuit'))).toBe(true)
      },
      { timeout: 15_000 },
    )
    await vi.waitFor(
      () => {
        expect(seen(a)).toEqual(['bob', 'relay'])
        expect(seen(b)).toEqual(['alice', 'relay'])
      },
      { timeout: 20_000 },
    )
    // the relay is not an agent
    expect(a.presence.peers().find((p) => p.card.name === 'relay')!.card.relayOnly).toBe(true)

    const task = await a.tasks.delegate({
      peer: b.peerId.toString(),
      peerName: 'bob',
      task: 'via the relay',
      context: null,
      priority: 'normal',
      ttl: 60_000,
    })
    await vi.waitFor(() => expect(b.inbox.take(10, true).map((e) => e.id)).toContain(task.id), {
      timeout: 20_000,
    })
    const conns = a.libp2p.getConnections(b.peerId)
    expect(conns.length).toBeGreaterThan(0)
    expect(conns.every((c) => c.remoteAddr.toString().includes('/p2p-circuit'))).toBe(true)

    await b.knowledge.publish({ topic: 'general', tags: [], content: 'heard through the relay' })
    await vi.waitFor(
      () => expect(a.knowledgeStore.list().map((x) => x.content)).toContain('heard through the relay'),
      {
        timeout: 10_000,
      },
    )
  })

  it('survives losing the relay: a task sent while it is down arrives once it is back', async () => {
    mesh = testMesh()
    let relay = await startNode(mesh, { name: 'relay', mdns: false, relayOnly: true })
    const relayAddr = relay.libp2p.getMultiaddrs()[0]!.toString()
    const a = await startNode(mesh, { name: 'alice', mdns: false, listen: [], relays: [relayAddr] })
    const b = await startNode(mesh, { name: 'bob', mdns: false, listen: [], relays: [relayAddr] })
    await vi.waitFor(() => expect(seen(a)).toContain('bob'), { timeout: 20_000 })

    await relay.stop()
    mesh.nodes.splice(mesh.nodes.indexOf(relay), 1)
    await vi.waitFor(() => expect(a.libp2p.getConnections(b.peerId)).toHaveLength(0), { timeout: 10_000 })
    const task = await a.tasks.delegate({
      peer: b.peerId.toString(),
      peerName: 'bob',
      task: 'while the relay was down',
      context: null,
      priority: 'normal',
      ttl: 300_000,
    })
    await new Promise((r) => setTimeout(r, 2_000))
    expect(a.taskStore.get('sent', b.peerId.toString(), task.id)!.state).toBe('submitted')

    // the same relay comes back (same identity and address); nobody restarts the agents
    relay = await startNode(mesh, {
      name: 'relay',
      mdns: false,
      relayOnly: true,
      listen: [relayAddr.split('/p2p/')[0]!],
    })
    await vi.waitFor(() => expect(b.inbox.take(10, true).map((e) => e.id)).toContain(task.id), {
      timeout: 60_000,
      interval: 200,
    })
    // the ack may still be on its way back when bob already has the task
    await vi.waitFor(
      () => expect(a.taskStore.get('sent', b.peerId.toString(), task.id)!.state).toBe('delivered'),
      {
        timeout: 10_000,
      },
    )
  }, 90_000)
})
