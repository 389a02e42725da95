// Author signatures on presence messages, so a third node can relay a card and its receiver can check
// that the author wrote it. The author signs DOMAIN || its message without the signature, exactly as it
// encoded it; receivers keep those bytes, never a re-encoding, so fields a receiver does not know (a
// newer version's) stay covered and relayable.
import type { PrivateKey } from '@libp2p/interface'
import { reader } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'
import { concat } from 'uint8arrays/concat'
import { signBody, verifyBody } from '../signed-body.js'
import { MAX_MESSAGE_SIZE } from './constants.js'
import { PresenceMessage } from './pb/presence.js'

/** Keeps a presence signature valid in no other protocol, and a future scheme's valid in none of these. */
export const SIGNING_DOMAIN = 'clawlink/presence/card/1'
const DOMAIN = new TextEncoder().encode(SIGNING_DOMAIN)
/** PresenceMessage fields that the signature does not cover: the signature and the member-list flag. */
const UNSIGNED_FIELDS = new Set([4, 5])

/** A message as its author signed it: relayable as is. `verified` is set once it has been checked. */
export interface SignedCard {
  message: Uint8Array
  signature: Uint8Array
  verified?: boolean
}

/**
 * Encodes `msg` signed with `key`: its fields, then the signature (and the member-list flag) appended as
 * further fields, which protobuf merges into one message. Without a key (or if signing fails, or the
 * signature would take a card at the very edge of MAX_MESSAGE_SIZE over it) the message goes out
 * unsigned, as older nodes send it: received and listed as before, but not relayed.
 */
export async function encodeSigned(
  key: PrivateKey | undefined,
  msg: Omit<PresenceMessage, 'suspects'> & Partial<Pick<PresenceMessage, 'suspects'>>,
  memberList = false,
): Promise<Uint8Array> {
  const base = PresenceMessage.encode({
    type: msg.type,
    card: msg.card,
    seq: msg.seq,
    suspects: msg.suspects ?? [],
  })
  let signature: Uint8Array | undefined
  try {
    if (key != null) signature = await signBody(key, DOMAIN, base)
  } catch {
    signature = undefined
  }
  // a 64-byte signature takes 66 bytes, the flag 2
  if (signature != null && base.byteLength + 68 > MAX_MESSAGE_SIZE) signature = undefined
  // type ANNOUNCE and seq 0 are defaults protobuf leaves out: this tail holds only fields 4 and 5
  const tail = PresenceMessage.encode({
    type: PresenceMessage.Type.ANNOUNCE,
    seq: 0n,
    suspects: [],
    signature: signature as Uint8Array<ArrayBuffer> | undefined,
    memberList: memberList ? true : undefined,
  })
  return concat([base, tail])
}

/** The bytes of `raw` the author signed: every top-level field but the signature and the flag. */
export function signedPart(raw: Uint8Array | Uint8ArrayList): Uint8Array {
  const bytes = raw instanceof Uint8Array ? raw : raw.subarray()
  const r = reader(bytes)
  const keep: Uint8Array[] = []
  while (r.pos < r.len) {
    const start = r.pos
    const tag = r.uint32()
    r.skipType(tag & 7)
    if (!UNSIGNED_FIELDS.has(tag >>> 3)) keep.push(bytes.subarray(start, r.pos))
  }
  return concat(keep)
}

/**
 * The author (PeerId string) of a relayed message and whether `signature` is theirs over it; undefined
 * when the author bytes are not a PeerId carrying its public key (only Ed25519 ids do).
 */
export async function verifySigned(
  author: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<{ author: string; valid: boolean } | undefined> {
  try {
    return await verifyBody(DOMAIN, author, message, signature)
  } catch {
    return undefined
  }
}

/** Checks a stored signature of `author` once (relayers relay only what verifies). */
export async function checkStored(authorBytes: Uint8Array, signed: SignedCard): Promise<boolean> {
  if (signed.verified == null) {
    const checked = await verifySigned(authorBytes, signed.message, signed.signature)
    signed.verified = checked?.valid === true
  }
  return signed.verified
}
