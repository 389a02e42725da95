import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  type HostedCandidate,
  type KnownAgent,
  peersHosted,
  pickByCap,
  pickTarget,
  resolveAgent,
  resolveTarget,
} from '../../src/core/resolve-agent.js'
import type { PeerStatus } from '../../src/protocols/presence/peer-table.js'
import { TaskError } from '../../src/protocols/tasks/errors.js'
import { isReservedTag } from '../../src/rules/limits.js'

let ids: string[]
let self: string

async function newId(): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

beforeAll(async () => {
  ids = await Promise.all(Array.from({ length: 6 }, newId))
  self = await newId()
})

function agent(
  id: string,
  name: string,
  over: { status?: PeerStatus; caps?: string[]; load?: number; lastSeen?: number; relayOnly?: boolean } = {},
): KnownAgent {
  return {
    id,
    card: {
      name,
      caps: over.caps ?? [],
      description: '',
      machine: 'host',
      version: '0.1.0',
      startedAt: 1n,
      load: over.load ?? 0,
      addrs: [],
      relayOnly: over.relayOnly ?? false,
    },
    seq: 1n,
    lastSeen: over.lastSeen ?? 1_000,
    status: over.status ?? 'online',
  }
}

/** The TaskError `fn` throws. */
function errorOf(fn: () => unknown): TaskError {
  try {
    fn()
  } catch (err) {
    if (err instanceof TaskError) return err
    throw err
  }
  throw new Error('expected a TaskError, nothing was thrown')
}

/** The shortest prefix of `id` (12+ characters) that no other id starts with. */
function uniquePrefix(id: string, others: string[]): string {
  for (let n = 12; n <= id.length; n++) {
    const p = id.slice(0, n)
    if (!others.some((o) => o !== id && o.startsWith(p))) return p
  }
  throw new Error('no unique prefix')
}

describe('resolveAgent', () => {
  it('finds an agent by its exact PeerId', () => {
    const known = [agent(ids[0]!, 'alice'), agent(ids[1]!, 'bob')]
    expect(resolveAgent(ids[1]!, known, self)).toEqual({ id: ids[1], name: 'bob' })
  })

  it('finds an agent by its exact PeerId even when it is offline', () => {
    const known = [agent(ids[0]!, 'alice', { status: 'offline' })]
    expect(resolveAgent(ids[0]!, known, self)).toEqual({ id: ids[0], name: 'alice' })
  })

  it('finds an agent by a unique name, whatever its status', () => {
    const known = [agent(ids[0]!, 'alice'), agent(ids[1]!, 'bob', { status: 'offline' })]
    expect(resolveAgent('alice', known, self)).toEqual({ id: ids[0], name: 'alice' })
    expect(resolveAgent('bob', known, self)).toEqual({ id: ids[1], name: 'bob' })
  })

  it('picks the online one when two agents share a name and only one is online', () => {
    const known = [
      agent(ids[0]!, 'worker', { status: 'offline' }),
      agent(ids[1]!, 'worker', { status: 'online' }),
      agent(ids[2]!, 'worker', { status: 'stale' }),
    ]
    expect(resolveAgent('worker', known, self)).toEqual({ id: ids[1], name: 'worker' })
  })

  it('refuses a name shared by two online agents, listing both ids', () => {
    const known = [agent(ids[0]!, 'worker'), agent(ids[1]!, 'worker'), agent(ids[2]!, 'other')]
    const err = errorOf(() => resolveAgent('worker', known, self))
    expect(err.code).toBe('ambiguous')
    expect(err.message).toContain(ids[0])
    expect(err.message).toContain(ids[1])
    expect(err.message).not.toContain(ids[2])
  })

  it('refuses a name shared by agents none of which is online', () => {
    const known = [
      agent(ids[0]!, 'worker', { status: 'offline' }),
      agent(ids[1]!, 'worker', { status: 'stale' }),
    ]
    const err = errorOf(() => resolveAgent('worker', known, self))
    expect(err.code).toBe('ambiguous')
    expect(err.message).toContain(ids[0])
    expect(err.message).toContain(ids[1])
  })

  it('finds an agent by a unique PeerId prefix of 12 or more characters', () => {
    const known = ids.slice(0, 4).map((id, i) => agent(id, `agent-${i}`))
    const prefix = uniquePrefix(ids[2]!, ids.slice(0, 4))
    expect(prefix.length).toBeGreaterThanOrEqual(12)
    expect(resolveAgent(prefix, known, self)).toEqual({ id: ids[2], name: 'agent-2' })
  })

  it('refuses a prefix that matches several agents, listing them', () => {
    // every Ed25519 PeerId starts with 12D3KooW
    const known = [agent(ids[0]!, 'alice'), agent(ids[1]!, 'bob')]
    const common = ids[0]!.slice(0, 12)
    const both = [agent(`${common}aaaa`, 'alice'), agent(`${common}bbbb`, 'bob')]
    const err = errorOf(() => resolveAgent(common, both, self))
    expect(err.code).toBe('ambiguous')
    expect(err.message).toContain(`${common}aaaa`)
    expect(err.message).toContain(`${common}bbbb`)
    expect(known).toHaveLength(2)
  })

  it('does not match prefixes shorter than 12 characters (12D3KooW is common to all)', () => {
    const known = [agent(ids[0]!, 'alice')]
    expect(errorOf(() => resolveAgent(ids[0]!.slice(0, 8), known, self)).code).toBe('not_found')
    expect(errorOf(() => resolveAgent(ids[0]!.slice(0, 11), known, self)).code).toBe('not_found')
  })

  it('accepts a valid PeerId of an agent not met yet', () => {
    const known = [agent(ids[0]!, 'alice')]
    expect(resolveAgent(ids[5]!, known, self)).toEqual({ id: ids[5], name: ids[5]!.slice(0, 16) })
    expect(resolveAgent(ids[5]!, [], self)).toEqual({ id: ids[5], name: ids[5]!.slice(0, 16) })
  })

  it('refuses this agent itself', () => {
    const known = [agent(ids[0]!, 'alice')]
    expect(errorOf(() => resolveAgent(self, known, self)).code).toBe('invalid')
    expect(errorOf(() => resolveAgent(self, [], self)).code).toBe('invalid')
  })

  it('refuses this agent given in another encoding (its CID)', () => {
    const cid = peerIdFromString(self).toCID().toString()
    expect(cid).not.toBe(self)
    expect(errorOf(() => resolveAgent(cid, [], self)).code).toBe('invalid')
    // while another agent's CID resolves to its PeerId
    const other = peerIdFromString(ids[5]!).toCID().toString()
    expect(resolveAgent(other, [], self).id).toBe(ids[5])
  })

  it('refuses an unknown name, listing the agents it knows', () => {
    const known = [agent(ids[0]!, 'alice'), agent(ids[1]!, 'bob', { status: 'offline' })]
    const err = errorOf(() => resolveAgent('carol', known, self))
    expect(err.code).toBe('not_found')
    expect(err.message).toContain('carol')
    expect(err.message).toContain('alice')
    expect(err.message).toContain(ids[0])
    expect(err.message).toContain('bob')
    expect(err.message).toContain(ids[1])
  })

  it('says so when no agent is known at all', () => {
    const err = errorOf(() => resolveAgent('carol', [], self))
    expect(err.code).toBe('not_found')
    expect(err.message).toMatch(/no agents are known/)
  })

  it('ignores relay-only nodes', () => {
    const relay = agent(ids[0]!, 'relay', { relayOnly: true })
    // not by name
    const byName = errorOf(() => resolveAgent('relay', [relay], self))
    expect(byName.code).toBe('not_found')
    expect(byName.message).not.toContain(ids[0])
    // a relay sharing an agent's name does not make it ambiguous
    expect(
      resolveAgent('worker', [agent(ids[0]!, 'worker', { relayOnly: true }), agent(ids[1]!, 'worker')], self),
    ).toEqual({ id: ids[1], name: 'worker' })
    // nor does it make a prefix ambiguous
    const common = ids[1]!.slice(0, 12)
    const known = [agent(`${common}aaaa`, 'relay', { relayOnly: true }), agent(`${common}bbbb`, 'bob')]
    expect(resolveAgent(common, known, self)).toEqual({ id: `${common}bbbb`, name: 'bob' })
  })
})

describe('pickByCap', () => {
  it('picks the least loaded online agent with the capability', () => {
    const known = [
      agent(ids[0]!, 'busy', { caps: ['code'], load: 5 }),
      agent(ids[1]!, 'idle', { caps: ['review', 'code'], load: 1 }),
      agent(ids[2]!, 'no-cap', { caps: ['review'], load: 0 }),
      agent(ids[3]!, 'medium', { caps: ['code'], load: 3 }),
    ]
    expect(pickByCap('code', known)).toEqual({ id: ids[1], name: 'idle' })
  })

  it('breaks ties by the most recently seen', () => {
    const known = [
      agent(ids[0]!, 'older', { caps: ['code'], load: 1, lastSeen: 1_000 }),
      agent(ids[1]!, 'newer', { caps: ['code'], load: 1, lastSeen: 2_000 }),
      agent(ids[2]!, 'oldest', { caps: ['code'], load: 1, lastSeen: 500 }),
    ]
    expect(pickByCap('code', known)).toEqual({ id: ids[1], name: 'newer' })
  })

  it('ignores stale, offline and relay-only agents even when they are less loaded', () => {
    const known = [
      agent(ids[0]!, 'stale', { caps: ['code'], load: 0, status: 'stale' }),
      agent(ids[1]!, 'offline', { caps: ['code'], load: 0, status: 'offline' }),
      agent(ids[2]!, 'relay', { caps: ['code'], load: 0, relayOnly: true }),
      agent(ids[3]!, 'online', { caps: ['code'], load: 9 }),
    ]
    expect(pickByCap('code', known)).toEqual({ id: ids[3], name: 'online' })
  })

  it('matches the capability exactly', () => {
    const known = [agent(ids[0]!, 'coder', { caps: ['code-review'] })]
    expect(errorOf(() => pickByCap('code', known)).code).toBe('not_found')
  })

  it('no online agent with the capability: not_found', () => {
    const known = [
      agent(ids[0]!, 'stale', { caps: ['code'], status: 'stale' }),
      agent(ids[1]!, 'other', { caps: ['review'] }),
    ]
    const err = errorOf(() => pickByCap('code', known))
    expect(err.code).toBe('not_found')
    expect(err.message).toContain('code')
    expect(errorOf(() => pickByCap('code', [])).code).toBe('not_found')
  })
})

describe('resolveTarget: hosted (v1) agents on peers', () => {
  const hosting = (a: KnownAgent, agents: Array<{ agentId: string; name: string }>): KnownAgent => ({
    ...a,
    card: {
      ...a.card,
      hostedAgents: {
        agents: agents.map((h) => ({
          ...h,
          capabilities: [],
          description: '',
          machine: '',
          heartbeatAge: 0,
        })),
      },
    },
  })

  it('finds a hosted agent by id or name, with its node as the peer', () => {
    const known = [
      hosting(agent(ids[0]!, 'nodea'), [{ agentId: 'yag01', name: 'yolanda' }]),
      agent(ids[1]!, 'bob'),
    ]
    expect(resolveTarget('yag01', known, self)).toEqual({
      peer: { id: ids[0], name: 'nodea' },
      toAgent: 'yag01',
    })
    expect(resolveTarget('yolanda', known, self)).toEqual({
      peer: { id: ids[0], name: 'nodea' },
      toAgent: 'yag01',
    })
    // nodes keep their names: no toAgent
    expect(resolveTarget('bob', known, self)).toEqual({ peer: { id: ids[1], name: 'bob' } })
    expect(errorOf(() => resolveTarget('nobody', known, self)).code).toBe('not_found')
  })

  it("lets a node's name win over a hosted agent's, and an id over a name", () => {
    const known = [
      hosting(agent(ids[0]!, 'nodea'), [
        { agentId: 'bob', name: 'x' },
        { agentId: 'zed01', name: 'carol' },
      ]),
      agent(ids[1]!, 'bob'),
      hosting(agent(ids[2]!, 'nodec'), [{ agentId: 'carol', name: 'cc' }]),
    ]
    expect(resolveTarget('bob', known, self).toAgent).toBeUndefined()
    expect(resolveTarget('carol', known, self)).toEqual({
      peer: { id: ids[2], name: 'nodec' },
      toAgent: 'carol',
    })
  })

  it('prefers the online node for an agent listed twice, else refuses the ambiguity', () => {
    const y = [{ agentId: 'yag01', name: 'yolanda' }]
    const one = [hosting(agent(ids[0]!, 'old', { status: 'stale' }), y), hosting(agent(ids[1]!, 'new'), y)]
    expect(resolveTarget('yolanda', one, self).peer.id).toBe(ids[1])
    const two = [hosting(agent(ids[0]!, 'a1'), y), hosting(agent(ids[1]!, 'a2'), y)]
    expect(errorOf(() => resolveTarget('yag01', two, self)).code).toBe('ambiguous')
  })
})

describe("resolveTarget and pickTarget: this node's own hosted agents", () => {
  const own = (agentId: string, name: string, over: Partial<HostedCandidate> = {}): HostedCandidate => ({
    peer: { id: self, name: 'me' },
    agentId,
    name,
    caps: ['review'],
    online: true,
    lastHeartbeat: 1_000,
    ...over,
  })

  it('resolves an agent of this node by id or name to a target on this node itself', () => {
    const known = [agent(ids[0]!, 'bob')]
    const hosted = [own('xag01', 'xavier'), ...peersHosted(known, 120_000)]
    const target = { peer: { id: self, name: 'me' }, toAgent: 'xag01' }
    expect(resolveTarget('xavier', known, self, hosted)).toEqual(target)
    expect(resolveTarget('xag01', known, self, hosted)).toEqual(target)
    // a node's name still wins, and this node itself is still refused
    expect(resolveTarget('bob', known, self, [own('bob', 'bob')]).toAgent).toBeUndefined()
    expect(errorOf(() => resolveTarget(self, known, self, hosted)).code).toBe('invalid')
  })

  it('prefers an online agent of the name, here or on a peer', () => {
    const hosted = [own('old01', 'xavier', { online: false }), own('new01', 'xavier')]
    expect(resolveTarget('xavier', [], self, hosted).toAgent).toBe('new01')
  })

  it('--cap: an online node first, else an online hosted agent, this node first', () => {
    const peerWith = (caps: string[]) => [
      {
        ...agent(ids[0]!, 'nodea', { caps }),
        card: {
          ...agent(ids[0]!, 'nodea', { caps }).card,
          hostedAgents: {
            agents: [
              {
                agentId: 'yag01',
                name: 'y',
                capabilities: ['review'],
                description: '',
                machine: '',
                heartbeatAge: 0,
              },
            ],
          },
        },
      },
    ]
    const withNode = peerWith(['review'])
    expect(pickTarget('review', withNode, self, [own('xag01', 'x')])).toEqual({
      peer: { id: ids[0], name: 'nodea' },
    })
    const noNode = peerWith([])
    const hosted = (mine: HostedCandidate[]) => [...mine, ...peersHosted(noNode, 120_000, 1_000)]
    expect(pickTarget('review', noNode, self, hosted([own('xag01', 'x')])).toAgent).toBe('xag01')
    expect(pickTarget('review', noNode, self, hosted([own('xag01', 'x', { online: false })]))).toEqual({
      peer: { id: ids[0], name: 'nodea' },
      toAgent: 'yag01',
    })
    expect(errorOf(() => pickTarget('sing', noNode, self, hosted([own('xag01', 'x')]))).code).toBe(
      'not_found',
    )
  })
})

describe('reserved tags', () => {
  it('are v1-from: in any case, and only as a prefix', () => {
    expect(['v1-from:x', 'V1-FROM:mallory', 'v1-From:'].every(isReservedTag)).toBe(true)
    expect(['v1-fro', 'xv1-from:a', 'v1from:a', 'ok'].some(isReservedTag)).toBe(false)
  })
})
