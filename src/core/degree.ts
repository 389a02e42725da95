// Which peers a node keeps connections to when the mesh is larger than its --max-peers. Every node
// computes the same ring from the same membership (presence converges), so the choice is symmetric:
// A keeps B exactly when B keeps A, and nobody dials a peer that would hang up again. The ring is
// connected, so gossip (presence, broadcasts, file entries) still reaches every member, while each node
// holds at most max-peers connections whatever the size of the mesh.
import { createHash } from 'node:crypto'

export interface Member {
  id: string
  /** the host it runs on (its card's machine), for diversity; '' when not known yet */
  machine: string
}

/** The smallest and largest --max-peers: two keeps the ring connected; beyond 1,000 it means nothing. */
export const MIN_MAX_PEERS = 2
export const MAX_MAX_PEERS = 1000
export const DEFAULT_MAX_PEERS = 10

const hashes = new Map<string, string>()

function hash(s: string): string {
  let h = hashes.get(s)
  if (h == null) {
    h = createHash('sha256').update(s).digest('hex').slice(0, 16)
    if (hashes.size > 100_000) hashes.clear()
    hashes.set(s, h)
  }
  return h
}

/**
 * The ring order: members of each machine are ranked by the hash of their id, then the ring takes rank
 * 0 of every machine, rank 1 of every machine, and so on. Neighbours on the ring are therefore on other
 * machines whenever there are other machines to choose (a host going down cuts no ring segment).
 */
export function ringOrder(members: Member[]): string[] {
  const byMachine = new Map<string, string[]>()
  for (const m of members) {
    const list = byMachine.get(m.machine) ?? []
    list.push(m.id)
    byMachine.set(m.machine, list)
  }
  const ranked: Array<{ id: string; rank: number; machine: string }> = []
  for (const [machine, ids] of byMachine) {
    ids.sort((a, b) => (hash(a) < hash(b) ? -1 : hash(a) > hash(b) ? 1 : 0))
    for (const [rank, id] of ids.entries()) ranked.push({ id, rank, machine: hash(machine) })
  }
  ranked.sort((a, b) =>
    a.rank !== b.rank ? a.rank - b.rank : a.machine !== b.machine ? (a.machine < b.machine ? -1 : 1) : 0,
  )
  return ranked.map((r) => r.id)
}

/**
 * The peers `self` keeps: every member while they are no more than maxPeers, else its floor(maxPeers/2)
 * successors and predecessors on the ring.
 */
export function chooseNeighbours(self: Member, members: Member[], maxPeers: number): Set<string> {
  const seen = new Set<string>([self.id])
  const all: Member[] = [self]
  for (const m of members) {
    if (seen.has(m.id)) continue
    seen.add(m.id)
    all.push(m)
  }
  if (all.length - 1 <= maxPeers) return new Set(all.slice(1).map((m) => m.id))
  const order = ringOrder(all)
  const n = order.length
  const i = order.indexOf(self.id)
  const out = new Set<string>()
  for (let d = 1; d <= Math.floor(maxPeers / 2); d++) {
    out.add(order[(i + d) % n]!)
    out.add(order[(i - d + n) % n]!)
  }
  return out
}
