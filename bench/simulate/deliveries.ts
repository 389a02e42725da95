// Broadcasts in the simulation: sending one, and scoring who got it, when, and why not. A delivery past
// the deadline is a miss; each miss keeps when it did arrive (if it did) and the knowledge mesh around
// the receiver when the broadcast went out and at its deadline (mesh-census.ts).
import { TOPIC } from '../../dist/protocols/knowledge/constants.js'
import { type MeshView, meshCensus } from './mesh-census.ts'
import type { SimNode } from './network.ts'

export interface Distribution {
  p50: number
  p99: number
  max: number
}

export interface Sent {
  id: string
  author: SimNode
  at: number
  /** Date.now() when published, to decide who was up */
  wall: number
  /** the knowledge mesh just before it was published, by node index */
  mesh: Map<number, MeshView>
  /** the same, at the delivery deadline, for the nodes it had not reached (when looked at) */
  atDeadline?: Map<number, MeshView>
}

export interface Miss {
  /** the receiver's index */
  node: number
  /** ms the receiver had been up when the broadcast was sent */
  upFor: number
  /** ms after sending that it did arrive, or null */
  lateBy: number | null
  /** how it came: gossip, or a history sync */
  via: 'live' | 'history' | null
  atSend?: MeshView
  atDeadline?: MeshView
}

export interface MissSummary {
  count: number
  /** of those, receivers that had (re)joined less than 10 s before the broadcast */
  joinedWithin10s: number
  /** of those, how many arrived later (gossip or anti-entropy) */
  late: number
  sample: Miss[]
}

export function distribution(samples: number[]): Distribution {
  if (samples.length === 0) return { p50: Number.NaN, p99: Number.NaN, max: Number.NaN }
  const s = [...samples].sort((a, b) => a - b)
  const at = (p: number) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!
  return { p50: round(at(50)), p99: round(at(99)), max: round(s.at(-1)!) }
}

export const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits

/** Publishes one broadcast from `author`, after a census of the mesh among `nodes`. */
export async function broadcastFrom(author: SimNode, n: number, nodes: SimNode[]): Promise<Sent | null> {
  const node = author.node
  if (node == null) return null
  const mesh = meshCensus(nodes, TOPIC)
  const at = performance.now()
  const b = await node.knowledgeService.publish({ content: `sim ${n}`, topic: 'sim' })
  return { id: b.id, author, at, wall: Date.now(), mesh }
}

/** Notes the mesh at `s`'s deadline around the nodes among `nodes` it has not reached. */
export function censusAtDeadline(s: Sent, nodes: SimNode[]): void {
  const missed = new Set(nodes.filter((n) => n !== s.author && !n.arrivals.has(s.id)).map((n) => n.index))
  if (missed.size > 0) s.atDeadline = meshCensus(nodes, TOPIC, missed)
}

const onTime = (r: SimNode, s: Sent, timeout: number) => {
  const t = r.arrivals.get(s.id)
  return t != null && t - s.at <= timeout
}

/** Delivery delays and coverage of `sent` over the receivers `expected(s)` names. */
export function deliveries(sent: Sent[], expected: (s: Sent) => SimNode[], timeout: number) {
  const delays: number[] = []
  const reachAll: number[] = []
  let due = 0
  let got = 0
  let bySync = 0
  for (const s of sent) {
    let last = 0
    let all = true
    for (const r of expected(s)) {
      due++
      if (onTime(r, s, timeout)) {
        const d = r.arrivals.get(s.id)! - s.at
        got++
        if (r.synced.has(s.id)) bySync++
        delays.push(d)
        last = Math.max(last, d)
      } else all = false
    }
    if (all) reachAll.push(last)
  }
  return {
    deliveryMs: distribution(delays),
    reachAllMs: distribution(reachAll),
    coveragePercent: due === 0 ? 100 : round((got / due) * 100, 2),
    /** of the deliveries in time, how many came by history sync rather than gossip */
    onTimeBySync: bySync,
  }
}

/** The (broadcast, receiver) pairs of `sent` over `expected(s)` not delivered within `timeout`. */
export function missesOf(sent: Sent[], expected: (s: Sent) => SimNode[], timeout: number): MissSummary {
  const misses: Miss[] = []
  for (const s of sent) {
    for (const r of expected(s)) {
      if (onTime(r, s, timeout)) continue
      const t = r.arrivals.get(s.id)
      const atSend = s.mesh.get(r.index)
      const atDeadline = s.atDeadline?.get(r.index)
      misses.push({
        node: r.index,
        upFor: s.wall - r.upSince,
        lateBy: t == null ? null : Math.round(t - s.at),
        via: t == null ? null : r.synced.has(s.id) ? 'history' : 'live',
        ...(atSend != null ? { atSend } : {}),
        ...(atDeadline != null ? { atDeadline } : {}),
      })
    }
  }
  return {
    count: misses.length,
    joinedWithin10s: misses.filter((m) => m.upFor < 10_000).length,
    late: misses.filter((m) => m.lateBy != null).length,
    sample: misses.slice(0, 10),
  }
}
