// Gossipsub's fast message id (libp2p-config.ts): the copies of one message share it, so the duplicates
// a node receives from each mesh peer are dropped before their signature is checked again; two messages
// never share it unless they have the same author and sequence number (then they are one StrictSign id).
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { fastMessageId } from '../../src/core/gossip-id.js'

describe('gossip fast message id', () => {
  it('is the same for copies of a message and differs by author or sequence number', async () => {
    const alice = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toMultihash().bytes
    const bob = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toMultihash().bytes
    const seq = (n: number) => new Uint8Array(new BigUint64Array([BigInt(n)]).buffer)
    const msg = { from: alice, seqno: seq(1), data: new Uint8Array([1]), signature: new Uint8Array(64) }
    const copy = { ...msg, from: Uint8Array.from(alice), seqno: seq(1) }
    expect(fastMessageId(copy)).toBe(fastMessageId(msg))
    expect(fastMessageId({ ...msg, seqno: seq(2) })).not.toBe(fastMessageId(msg))
    expect(fastMessageId({ ...msg, from: bob })).not.toBe(fastMessageId(msg))
    // an author's bytes never run into the sequence number's
    expect(fastMessageId({ from: new Uint8Array([1, 2]), seqno: new Uint8Array([3]) })).not.toBe(
      fastMessageId({ from: new Uint8Array([1]), seqno: new Uint8Array([2, 3]) }),
    )
  })
})
