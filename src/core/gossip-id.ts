// Gossipsub's "fast message id": a key computed from a received message before anything else is done
// with it, so a copy already seen is dropped at once. Without it gossipsub verifies the Ed25519
// signature of every copy it receives (one per mesh peer that forwards the message: 6-12 at the
// defaults) before finding out that it is a duplicate; in a 50-node simulation that verification
// was a fifth of the process's CPU while the mesh formed (docs/benchmarks.md, Simulation).
//
// With StrictSign the message id is the author's peer id and sequence number, so the same pair is the
// fast id. It is only remembered for messages that passed validation, so a forged copy that arrives
// first is still verified (and rejected) and does not shadow the real one.

interface RpcMessage {
  from?: Uint8Array
  seqno?: Uint8Array
}

/** `from` and `seqno` as one string; distinct pairs give distinct strings. */
export function fastMessageId(msg: RpcMessage): string {
  const from = msg.from ?? new Uint8Array(0)
  const seqno = msg.seqno ?? new Uint8Array(0)
  // the length prefix keeps (from, seqno) pairs from running into each other
  return `${from.length}:${Buffer.from(from.buffer, from.byteOffset, from.length).toString('base64')}${Buffer.from(seqno.buffer, seqno.byteOffset, seqno.length).toString('base64')}`
}
