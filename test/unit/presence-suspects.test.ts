// What Presence says of peers it lost, and what it does with what others say: suspects go out in the
// next announcement, at most 16 a message; a suspicion of this node is answered, one of another is held.
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { MAX_SUSPECTS } from '../../src/protocols/presence/constants.js'
import { PresenceMessage } from '../../src/protocols/presence/pb/presence.js'
import type { Presence } from '../../src/protocols/presence/presence.js'
import { toSuspect } from '../../src/protocols/presence/suspects.js'
import { card, fakePresence } from '../helpers/fake-presence.js'

const lose = (presence: Presence, peer: PeerId) =>
  (presence as unknown as { suspicion: { lost(p: PeerId): void } }).suspicion.lost(peer)

async function peers(n: number): Promise<PeerId[]> {
  return Promise.all(
    Array.from({ length: n }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))),
  )
}

describe('suspects in announcements', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('names lost peers in the next announcements, at most 16 a message, each once', async () => {
    vi.useFakeTimers()
    const ids = await peers(20)
    const sent: PresenceMessage[] = []
    const { presence } = fakePresence(21, (data) => sent.push(PresenceMessage.decode(data)), ids.map(String))
    await presence.start()
    presence.afterStart()
    await vi.advanceTimersByTimeAsync(0)
    sent.length = 0
    for (const id of ids) lose(presence, id)
    // all 20 stale here at once
    expect(presence.peers().filter((p) => p.status === 'stale')).toHaveLength(20)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(sent.map((m) => m.suspects.length)).toEqual([MAX_SUSPECTS, 20 - MAX_SUSPECTS])
    const named = sent.flatMap((m) => m.suspects.map((s) => Buffer.from(s.peer).toString('hex')))
    expect(new Set(named)).toEqual(
      new Set(ids.map((id) => Buffer.from(id.toMultihash().bytes).toString('hex'))),
    )
    // losing one again names nobody: it is suspected already
    lose(presence, ids[0]!)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(sent).toHaveLength(2)
    await presence.beforeStop()
    await presence.stop()
  })

  it('holds a peer another member suspects, and rejects a message with more than 16 suspects', async () => {
    const ids = await peers(18)
    const { presence, gossip } = fakePresence(19, () => {}, ids.map(String))
    await presence.start()
    presence.afterStart()
    const invalid: string[] = []
    presence.addEventListener('peer:invalid', (e) => invalid.push(e.detail.reason))
    const from = ids[17]!.toString()
    const suspecting = (n: number) =>
      PresenceMessage.encode({
        type: PresenceMessage.Type.ANNOUNCE,
        card: card('p18'),
        seq: 2n,
        suspects: ids.slice(0, n).map((id) => toSuspect(id, 1_000n, 1n)),
      })
    gossip(from, suspecting(MAX_SUSPECTS + 1))
    expect(invalid).toEqual(['17 suspects (at most 16)'])
    expect(presence.peers().filter((p) => p.status === 'stale')).toHaveLength(0)
    gossip(from, suspecting(2))
    const stale = presence.peers().filter((p) => p.status === 'stale')
    expect(stale.map((p) => p.id).sort()).toEqual([ids[0]!.toString(), ids[1]!.toString()].sort())
    expect(stale[0]!.suspected?.by).toBe(from)
    await presence.beforeStop()
    await presence.stop()
  })
})
