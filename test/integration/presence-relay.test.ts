// The member-list exchange on the wire: relayed cards from a peer inside the mesh, forged or real, an
// over-limit list, and an older node that speaks the exchange of one card each way.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MAX_EXCHANGE_FRAME, MAX_MEMBER_DIGESTS } from '../../src/protocols/presence/constants.js'
import {
  readCard,
  readMembers,
  readRelays,
  writeMembers,
  writeRelays,
} from '../../src/protocols/presence/exchange.js'
import { MemberList, PresenceMessage, type RelayedCard } from '../../src/protocols/presence/pb/presence.js'
import { encodeSigned, signedPart } from '../../src/protocols/presence/signed.js'
import { seen, startNode, type TestMesh, testMesh } from '../helpers/in-process.js'

async function signedCard(name: string, signerName = name) {
  const key = await generateKeyPair('Ed25519')
  const signer = signerName === name ? key : await generateKeyPair('Ed25519')
  const card = {
    ...{ name, caps: ['relayed'], description: '', machine: 'elsewhere', version: '0.1.0' },
    ...{ startedAt: BigInt(Date.now()), load: 0, addrs: [], relayOnly: false },
  }
  const wire = await encodeSigned(signer, { type: PresenceMessage.Type.ANNOUNCE, card, seq: 1n })
  return {
    id: peerIdFromPrivateKey(key).toString(),
    relayed: {
      author: peerIdFromPrivateKey(key).toMultihash().bytes,
      message: signedPart(wire),
      signature: PresenceMessage.decode(wire).signature!,
      age: 1_000,
    } as RelayedCard,
  }
}

describe('presence member lists on the wire (in-process nodes)', () => {
  let mesh: TestMesh
  afterEach(async () => {
    await mesh.cleanup()
  })

  it('takes a relayed card signed by its author, refuses a forged one, and refuses an over-limit list', async () => {
    mesh = testMesh()
    const a = await startNode(mesh, { name: 'alice', mdns: false })
    const m = await startNode(mesh, {
      name: 'mallory',
      mdns: false,
      peers: [a.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(() => expect(seen(a)).toEqual(['mallory']), { timeout: 10_000, interval: 50 })
    const carol = await signedCard('carol')
    const forged = await signedCard('dave', 'mallory')

    const stream = await m.libp2p.dialProtocol(a.peerId, a.presence.protocol)
    const lp = lpStream(stream, { maxDataLength: MAX_EXCHANGE_FRAME })
    const own = { type: PresenceMessage.Type.ANNOUNCE, card: m.presence.localCard(), seq: 10_000n }
    await lp.write(await encodeSigned(undefined, own, true))
    await writeMembers(lp, new Uint8Array(0), {})
    const reply = await readCard(lp, {})
    expect(reply.msg.card?.name).toBe('alice')
    expect(reply.msg.memberList).toBe(true)
    expect(reply.msg.signature).toHaveLength(64)
    await readMembers(lp, {})
    const toUs: RelayedCard[] = []
    await readRelays(lp, async (cards) => void toUs.push(...cards), {})
    // alice knows only mallory, the peer on this end: nothing to relay
    expect(toUs).toEqual([])
    await writeRelays(lp, [forged.relayed, carol.relayed], {})
    await stream.close()

    await vi.waitFor(() => expect(seen(a)).toEqual(['carol', 'mallory']), { timeout: 5_000, interval: 50 })
    const listed = a.presence.peers().find((p) => p.id === carol.id)!
    expect(listed.card.caps).toEqual(['relayed'])
    expect(Date.now() - listed.lastSeen).toBeGreaterThanOrEqual(1_000)
    expect(a.presence.peers().some((p) => p.id === forged.id)).toBe(false)
    // relayers check signatures before relaying: a forged one is the relayer's offence
    const invalid = () => a.sink.events.filter((e) => e.event === 'peer_invalid')
    await vi.waitFor(() =>
      expect(invalid().some((e) => /signature does not verify/.test(String(e.reason)))).toBe(true),
    )

    // a member list over the limit breaks the protocol
    const s2 = await m.libp2p.dialProtocol(a.peerId, a.presence.protocol)
    const lp2 = lpStream(s2, { maxDataLength: MAX_EXCHANGE_FRAME })
    await lp2.write(await encodeSigned(undefined, { ...own, seq: 10_001n }, true))
    await lp2.write(MemberList.encode({ digests: new Uint8Array((MAX_MEMBER_DIGESTS + 1) * 8) }))
    await vi.waitFor(
      () => expect(invalid().some((e) => /member list of 4097 members/.test(String(e.reason)))).toBe(true),
      {
        timeout: 5_000,
      },
    )
  })

  it('an older node exchanges one card each way, as before', async () => {
    mesh = testMesh()
    const a = await startNode(mesh, { name: 'alice', mdns: false })
    const old = await startNode(mesh, {
      name: 'old',
      mdns: false,
      peers: [a.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(() => expect(seen(a)).toEqual(['old']), { timeout: 10_000, interval: 50 })
    const stream = await old.libp2p.dialProtocol(a.peerId, a.presence.protocol)
    // what an older node sends: no signature, no member-list flag, at most 8 KiB frames
    const lp = lpStream(stream, { maxDataLength: 8 * 1024 })
    const card = { ...old.presence.localCard(), caps: ['older'] }
    await lp.write(PresenceMessage.encode({ type: PresenceMessage.Type.ANNOUNCE, card, seq: 20_000n }))
    const reply = PresenceMessage.decode(await lp.read())
    expect(reply.card?.name).toBe('alice')
    expect(reply.memberList).toBeUndefined()
    // and nothing more: alice closes her side
    await expect(lp.read()).rejects.toThrow()
    await vi.waitFor(() =>
      expect(a.presence.peers().find((p) => p.card.name === 'old')?.card.caps).toEqual(['older']),
    )
  })
})
