// A census of the gossipsub RPCs the simulated nodes receive (process-wide): messages per topic and how
// many of them were copies a node already had, subscriptions, and each control kind (IHAVE, IWANT,
// GRAFT, PRUNE, IDONTWANT) with the message ids they carry. A diagnostic for the harness (SIM_FRAMES=1):
// it wraps each node's gossipsub handler, which the node never does.

interface Rpc {
  subscriptions?: unknown[]
  messages?: Array<{ topic?: string; from?: Uint8Array; seqno?: Uint8Array }>
  control?: {
    ihave?: Array<{ messageIDs?: unknown[] }>
    iwant?: Array<{ messageIDs?: unknown[] }>
    graft?: unknown[]
    prune?: unknown[]
    idontwant?: Array<{ messageIDs?: unknown[] }>
  }
}

export type RpcCounts = Record<string, number>

const key = (m: { from?: Uint8Array; seqno?: Uint8Array }) =>
  `${Buffer.from(m.from ?? []).toString('base64')}/${Buffer.from(m.seqno ?? []).toString('base64')}`

/** Wraps `pubsub.handleReceivedRpc` of one node so that what it receives is added to `counts`. */
export function countRpcs(pubsub: unknown, counts: RpcCounts): void {
  const ps = pubsub as { handleReceivedRpc(from: unknown, rpc: Rpc): Promise<void> }
  const handle = ps.handleReceivedRpc.bind(ps)
  const seen = new Set<string>()
  const add = (k: string, n = 1) => {
    if (n > 0) counts[k] = (counts[k] ?? 0) + n
  }
  ps.handleReceivedRpc = (from, rpc) => {
    add('rpc')
    add('subscription', rpc.subscriptions?.length ?? 0)
    for (const m of rpc.messages ?? []) {
      const id = key(m)
      add(`message ${m.topic ?? '?'}`)
      if (seen.has(id)) add(`message ${m.topic ?? '?'} (copy already had)`)
      else seen.add(id)
    }
    const c = rpc.control
    for (const kind of ['ihave', 'iwant', 'idontwant'] as const) {
      const list = c?.[kind] ?? []
      add(kind, list.length)
      add(
        `${kind} ids`,
        list.reduce((a, x) => a + (x.messageIDs?.length ?? 0), 0),
      )
    }
    add('graft', c?.graft?.length ?? 0)
    add('prune', c?.prune?.length ?? 0)
    return handle(from, rpc)
  }
}
