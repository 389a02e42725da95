// A peer inside the mesh that sends garbage: the node drops it, logs it and stays up.
import { lpStream, pbStream } from '@libp2p/utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MAX_MESSAGE_SIZE, TOPIC } from '../../src/protocols/presence/constants.js'
import { PresenceMessage } from '../../src/protocols/presence/index.js'
import { seen, startNode, type TestMesh, testMesh } from '../helpers/in-process.js'

describe('presence under bad input', () => {
  let mesh: TestMesh
  afterEach(async () => {
    await mesh.cleanup()
  })

  it('rejects malformed, oversized and invalid cards on the stream and in gossip, and stays up', async () => {
    mesh = testMesh()
    const a = await startNode(mesh, { name: 'alice', mdns: false })
    const m = await startNode(mesh, {
      name: 'mallory',
      mdns: false,
      peers: [a.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(() => expect(seen(a)).toEqual(['mallory']), { timeout: 10_000, interval: 50 })
    const protocol = a.presence.protocol
    const invalid = () => a.sink.events.filter((e) => e.event === 'peer_invalid')

    // 1. bytes that are not a protobuf message
    let stream = await m.libp2p.dialProtocol(a.peerId, protocol)
    await lpStream(stream).write(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]))
    await vi.waitFor(() => expect(invalid()[0]?.reason).toMatch(/malformed presence message/), {
      timeout: 5_000,
    })

    // 2. a frame whose length prefix is over the limit: refused before any of it is read
    stream = await m.libp2p.dialProtocol(a.peerId, protocol)
    await lpStream(stream, { maxDataLength: 10 * MAX_MESSAGE_SIZE }).write(
      new Uint8Array(MAX_MESSAGE_SIZE + 1),
    )
    await vi.waitFor(
      () => expect(invalid().some((e) => /length|size|large/i.test(String(e.reason)))).toBe(true),
      {
        timeout: 5_000,
      },
    )

    // 3. a well-formed message with an invalid card
    stream = await m.libp2p.dialProtocol(a.peerId, protocol)
    const card = { ...m.presence.localCard(), name: '-bad name-' }
    await pbStream(stream)
      .pb(PresenceMessage)
      .write({ type: PresenceMessage.Type.ANNOUNCE, card, seq: 99n, suspects: [] })
    await vi.waitFor(
      () => expect(invalid().some((e) => /invalid agent name/.test(String(e.reason)))).toBe(true),
      {
        timeout: 5_000,
      },
    )

    // 4. garbage in gossip, signed by mallory
    await m.libp2p.services.pubsub.publish(TOPIC, Uint8Array.from([1, 2, 3, 4, 5]))
    await vi.waitFor(() => expect(invalid().some((e) => e.via === 'gossip')).toBe(true), { timeout: 5_000 })

    // alice is still up, still lists mallory under her real name, and still answers
    expect(seen(a)).toEqual(['mallory'])
    expect(a.presence.peers()[0]!.card.name).toBe('mallory')
    const b = await startNode(mesh, {
      name: 'bob',
      mdns: false,
      peers: [a.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(
      () => {
        expect(seen(a)).toEqual(['bob', 'mallory'])
        expect(seen(b)).toContain('alice')
      },
      { timeout: 10_000, interval: 50 },
    )
  })
})
