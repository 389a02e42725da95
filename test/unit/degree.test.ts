import { describe, expect, it } from 'vitest'
import { chooseNeighbours, type Member, ringOrder } from '../../src/core/degree.js'

const members = (n: number, machines = 1): Member[] =>
  Array.from({ length: n }, (_, i) => ({ id: `peer-${i}`, machine: `host-${i % machines}` }))

/** Every node's choice, computed from the same membership. */
function graph(all: Member[], max: number): Map<string, Set<string>> {
  return new Map(all.map((m) => [m.id, chooseNeighbours(m, all, max)]))
}

describe('chooseNeighbours', () => {
  it('keeps every member while they are no more than max-peers (a small mesh stays a full mesh)', () => {
    const all = members(5)
    expect([...chooseNeighbours(all[0]!, all, 10)].sort()).toEqual(
      all
        .slice(1)
        .map((m) => m.id)
        .sort(),
    )
  })

  it('keeps at most max-peers, symmetrically, and the mesh stays connected', () => {
    for (const [n, max] of [
      [6, 2],
      [50, 10],
      [51, 3],
      [500, 8],
    ] as const) {
      const all = members(n, 7)
      const g = graph(all, max)
      for (const [id, out] of g) {
        expect(out.size).toBeLessThanOrEqual(max)
        expect(out.has(id)).toBe(false)
        for (const other of out) expect(g.get(other)!.has(id)).toBe(true)
      }
      const seen = new Set([all[0]!.id])
      const queue = [all[0]!.id]
      while (queue.length > 0)
        for (const next of g.get(queue.pop()!)!) if (!seen.has(next) && seen.add(next)) queue.push(next)
      expect(seen.size).toBe(n)
    }
  })

  it('prefers neighbours on other machines', () => {
    const all = members(12, 3)
    const machineOf = new Map(all.map((m) => [m.id, m.machine]))
    const order = ringOrder(all)
    for (let i = 0; i < order.length; i++) {
      expect(machineOf.get(order[i]!)).not.toBe(machineOf.get(order[(i + 1) % order.length]!))
    }
  })

  it('ignores duplicates and itself in the member list', () => {
    const all = members(4)
    expect(chooseNeighbours(all[0]!, [...all, ...all], 10).size).toBe(3)
  })
})
