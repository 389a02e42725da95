// mDNS in a large mesh (mdns-discovery.ts): the LAN queries about once per interval and about ANSWERERS
// nodes answer each query, whatever the mesh's size; a node alone queries often and always answers.
// Answers about peers the node already has are not passed on.
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId, PeerInfo } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import {
  ANSWERERS,
  answerChance,
  MAX_QUERY_INTERVAL,
  meshMdns,
  queryDelay,
} from '../../src/core/mdns-discovery.js'

const middle = () => 0.5 // no jitter

describe('mDNS pace', () => {
  it('queries every interval while unconnected, and every interval × members once in a mesh', () => {
    expect(queryDelay(10_000, 0, 1, middle)).toBe(10_000)
    expect(queryDelay(10_000, 0, 50, middle)).toBe(10_000) // cut off: looks for the mesh at full pace
    expect(queryDelay(10_000, 3, 50, middle)).toBe(500_000)
    expect(queryDelay(10_000, 3, 2, middle)).toBe(40_000) // never less than its own connections say
    expect(queryDelay(10_000, 10, 5_000, middle)).toBe(MAX_QUERY_INTERVAL)
    const jittered = [0, 0.999].map((r) => queryDelay(10_000, 3, 50, () => r))
    expect(jittered[0]).toBe(400_000)
    expect(jittered[1]).toBeGreaterThan(599_000)
  })

  it('answers always when alone, a hub, or in a small mesh; else about ANSWERERS nodes per query', () => {
    expect(answerChance(0, 500, false)).toBe(1)
    expect(answerChance(5, 500, true)).toBe(1)
    expect(answerChance(3, ANSWERERS, false)).toBe(1)
    for (const members of [20, 50, 500]) {
      expect(answerChance(5, members, false) * members).toBeCloseTo(ANSWERERS)
    }
  })
})

describe('mDNS answers passed on', () => {
  it('drops answers from peers already connected or listed with those addresses, passes the others', async () => {
    const ids = await Promise.all(
      [1, 2, 3, 4].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))),
    )
    const [connected, listed, stranger, moved] = ids as [PeerId, PeerId, PeerId, PeerId]
    const noop = () => {}
    const card = '/ip4/127.0.0.1/tcp/4001'
    const discovery = meshMdns({
      serviceTag: '_cl-test._udp.local',
      interval: 10_000,
      // presence lists `listed` and `moved` with a card carrying only the old port
      known: (id, addrs) =>
        (id === listed.toString() || id === moved.toString()) && addrs.every((a) => a.toString() === card),
    })({
      addressManager: { getAddresses: () => [] },
      connectionManager: { getConnections: (p?: PeerId) => (p?.equals(connected) === true ? [{}] : []) },
      logger: { forComponent: () => Object.assign(noop, { error: noop, trace: noop }) },
    } as never)
    const passed: string[] = []
    discovery.addEventListener('peer', (e) => passed.push(e.detail.id.toString()))
    const onPeer = (discovery as unknown as { onPeer(p: PeerInfo): void }).onPeer.bind(discovery)
    for (const id of ids) {
      // `moved` restarted on another port: its answer is news, the remembered card is out of date
      const addr = id === moved ? '/ip4/127.0.0.1/tcp/4999' : card
      onPeer({ id, multiaddrs: [multiaddr(addr)] })
    }
    expect(passed).toEqual([stranger.toString(), moved.toString()])
  })
})
