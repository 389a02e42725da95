import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import type { ClawLinkNode } from '../../src/core/node.js'
import { limits, PresenceMessage, validateCard } from '../../src/protocols/presence/index.js'
import { Store } from '../../src/store/database.js'
import { V1Api } from '../../src/v1/index.js'

const dirs: string[] = []
const stores: Store[] = []
afterEach(() => {
  for (const s of stores.splice(0)) s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function api(description: string, addrCount: number): V1Api {
  const dir = mkdtempSync(join(tmpdir(), 'clawlink-v1-card-'))
  dirs.push(dir)
  const store = new Store(join(dir, 'store.db'))
  stores.push(store)
  const addrs = Array.from({ length: addrCount }, (_, i) => multiaddr(`/ip4/10.0.0.${i}/tcp/${4000 + i}`))
  const card = {
    name: 'node',
    caps: ['a', 'b'],
    description,
    machine: 'host',
    version: '0.1.0',
    load: 0,
    relayOnly: false,
  }
  const node = { libp2p: { getMultiaddrs: () => addrs }, localCard: () => card } as unknown as ClawLinkNode
  return new V1Api(node, store.db, { host: '127.0.0.1', port: 0 })
}

function fill(v1: V1Api): void {
  for (let i = 0; i < 64; i++) {
    v1.store.register({
      agentId: `agent-${i}-${'x'.repeat(30)}`,
      name: 'n'.repeat(64),
      capabilities: Array.from({ length: 16 }, (_, j) => `cap${j}${'c'.repeat(50)}`),
      machine: 'm'.repeat(255),
      description: 'd'.repeat(1024),
    })
  }
}

describe('v1 agents in the presence card', () => {
  it('lists none when no agent is registered', () => {
    expect(api('', 1).cardAgents()).toBeUndefined()
  })

  it('stays within the presence message limit, however large the agents and the card', () => {
    for (const [description, addrCount] of [
      ['', 2],
      ['d'.repeat(1024), 16],
    ] as const) {
      const v1 = api(description, addrCount)
      fill(v1)
      const list = v1.cardAgents()!
      expect(list.agents.length).toBeGreaterThan(0)
      expect(list.agents.length).toBeLessThan(64)
      const node = (v1 as unknown as { node: ClawLinkNode }).node
      const card = {
        ...node.localCard(),
        startedAt: BigInt(Date.now()),
        addrs: node.libp2p.getMultiaddrs().map((a) => a.bytes) as Uint8Array<ArrayBuffer>[],
        hostedAgents: list,
      }
      expect(() => validateCard(card)).not.toThrow()
      const size = PresenceMessage.encode({ type: PresenceMessage.Type.ANNOUNCE, card, seq: 1n }).byteLength
      expect(size).toBeLessThanOrEqual(limits.MAX_MESSAGE_SIZE)
    }
  })

  it('leaves out agents not heard from for a day, most recent first', () => {
    const v1 = api('', 1)
    v1.store.register({ agentId: 'old', name: 'Old', capabilities: [], machine: '', description: '' })
    v1.store.register({ agentId: 'new', name: 'New', capabilities: [], machine: '', description: '' })
    const now = Date.now()
    expect(v1.cardAgents(now)!.agents.map((a) => a.agentId)).toEqual(['new', 'old'])
    expect(v1.cardAgents(now + 25 * 3600 * 1000)).toBeUndefined()
  })
})
