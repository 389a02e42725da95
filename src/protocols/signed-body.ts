// Application-level signatures, shared by the protocols whose messages are forwarded by others
// (knowledge, files): the author signs DOMAIN || body, and anyone can check it against the author's
// PeerId carried in the body. The domain keeps a signature from one protocol valid in no other.
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'

function signedBytes(domain: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(domain.length + body.length)
  out.set(domain)
  out.set(body, domain.length)
  return out
}

export async function signBody(key: PrivateKey, domain: Uint8Array, body: Uint8Array): Promise<Uint8Array> {
  return key.sign(signedBytes(domain, body))
}

/**
 * The author's PeerId string and whether `signature` is theirs over DOMAIN || body. Throws (a plain
 * Error, for the caller to wrap in its own class) when the author bytes are not a usable PeerId.
 */
export async function verifyBody(
  domain: Uint8Array,
  authorBytes: Uint8Array,
  body: Uint8Array,
  signature: Uint8Array,
): Promise<{ author: string; valid: boolean }> {
  const peerId = peerIdFromMultihash(Digest.decode(authorBytes))
  if (peerId.publicKey == null) throw new Error('the author id does not carry its public key')
  return {
    author: peerId.toString(),
    valid: await peerId.publicKey.verify(signedBytes(domain, body), signature),
  }
}
