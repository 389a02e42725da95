// Suspicions carried in announcements (PresenceMessage.suspects): what a node says of peers it lost.
import type { PeerId } from '@libp2p/interface'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { MAX_SUSPECT_PEER_LENGTH, MAX_SUSPECTS } from './constants.js'
import { InvalidCardError } from './errors.js'
import type { Suspect } from './pb/presence.js'

export interface Suspicion {
  peer: string
  startedAt: bigint
  seq: bigint
}

/** Checks the bounds of a message's suspects (before it is accepted from gossip). */
export function checkSuspects(suspects: Suspect[]): void {
  if (suspects.length > MAX_SUSPECTS) {
    throw new InvalidCardError(`${suspects.length} suspects (at most ${MAX_SUSPECTS})`)
  }
  for (const s of suspects) {
    if (s.peer.byteLength === 0 || s.peer.byteLength > MAX_SUSPECT_PEER_LENGTH) {
      throw new InvalidCardError(`suspect id of ${s.peer.byteLength} bytes`)
    }
  }
}

/** The suspicions of a checked message, their peers as PeerId strings; an id that does not parse is an error. */
export function parseSuspects(suspects: Suspect[]): Suspicion[] {
  return suspects.map((s) => {
    let peer: string
    try {
      peer = peerIdFromMultihash(Digest.decode(s.peer)).toString()
    } catch {
      throw new InvalidCardError('suspect id is not a peer id')
    }
    return { peer, startedAt: s.startedAt, seq: s.seq }
  })
}

/** The wire form of a suspicion of `peer` at its message (startedAt, seq). */
export function toSuspect(peer: PeerId, startedAt: bigint, seq: bigint): Suspect {
  return { peer: peer.toMultihash().bytes as Uint8Array<ArrayBuffer>, startedAt, seq }
}
