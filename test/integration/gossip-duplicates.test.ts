// Gossipsub hands a node one copy of a message per mesh peer that forwards it. Only the first copy
// needs its signature checked: the node's fast message id (src/core/gossip-id.ts) drops the others
// before verification. Four real nodes (createNode, the node's own stack) in a full mesh over the
// simulation's in-memory links; every Ed25519 verification of a gossip message is counted.
import { createRequire } from 'node:module'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type SimCore, SimNetwork, waitFor } from '../../bench/simulate/network.js'
import type { RpcCounts } from '../../bench/simulate/rpcs.js'
import { fastMessageId } from '../../src/core/gossip-id.js'
import * as core from '../../src/core/index.js'
import { encodeKeyFile, generateKey } from '../../src/home/mesh-key.js'
import { TOPIC as KNOWLEDGE_TOPIC } from '../../src/protocols/knowledge/constants.js'

const CORE: SimCore = { ...core, encodeKeyFile, generateKey }
const PREFIX = Buffer.from('libp2p-pubsub:')
// the module object that @libp2p/crypto calls `crypto.verify` on (an ES namespace could not be spied on)
const crypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')

describe('gossip duplicates', () => {
  let net: SimNetwork | undefined
  afterEach(async () => {
    vi.restoreAllMocks()
    await net?.close()
    net = undefined
  })

  it('the fast id is the (author, seqno) pair', () => {
    const a = { from: new Uint8Array([1, 2]), seqno: new Uint8Array([3]) }
    expect(fastMessageId(a)).toBe(fastMessageId({ from: new Uint8Array([1, 2]), seqno: new Uint8Array([3]) }))
    expect(fastMessageId(a)).not.toBe(
      fastMessageId({ from: new Uint8Array([1, 2]), seqno: new Uint8Array([4]) }),
    )
    expect(fastMessageId(a)).not.toBe(
      fastMessageId({ from: new Uint8Array([1]), seqno: new Uint8Array([2, 3]) }),
    )
  })

  it('a copy of a gossip message already seen is dropped without verifying its signature again', async () => {
    const rpcs: RpcCounts = {}
    // each node dials every node started before it: a full mesh of 4
    net = new SimNetwork({ core: CORE, latency: 5, dials: 3, rpcs })
    await net.grow(4, 1)
    expect(net.failures).toEqual([])
    expect(await waitFor(() => net!.converged(), 60_000, 100), `${net.missing()} listings missing`).toBe(true)
    // presence lists everyone before gossipsub has told every node who subscribes to broadcasts: a
    // broadcast published before then skips the peers its author does not know of yet (anti-entropy
    // brings it to them later, past this test's wait)
    const subscribers = () =>
      net!.up().every((n) => n.node!.libp2p.services.pubsub.getSubscribers(KNOWLEDGE_TOPIC).length === 3)
    expect(await waitFor(subscribers, 30_000, 20), 'every node knows the 3 others subscribe').toBe(true)

    let verified = 0
    const verify = crypto.verify
    vi.spyOn(crypto, 'verify').mockImplementation(((...args: Parameters<typeof crypto.verify>) => {
      const data = args[1] as Uint8Array
      if (Buffer.from(data.buffer, data.byteOffset, PREFIX.length).equals(PREFIX)) verified++
      return verify(...args)
    }) as typeof crypto.verify)
    const before = { ...rpcs }
    for (let i = 0; i < 5; i++) {
      const author = net.up()[i % 4]!
      const b = await author.node!.knowledgeService.publish({ content: `dup ${i}`, topic: 'dup' })
      const others = net.up().filter((n) => n !== author)
      expect(await waitFor(() => others.every((n) => n.arrivals.has(b.id)), 20_000, 20)).toBe(true)
    }
    // let the last forwards land
    await new Promise((r) => setTimeout(r, 300))
    const delta = (k: string) => (rpcs[k] ?? 0) - (before[k] ?? 0)
    const keys = Object.keys(rpcs).filter((k) => k.startsWith('message '))
    const copies = keys.filter((k) => !k.endsWith('(copy already had)')).reduce((a, k) => a + delta(k), 0)
    const repeats = keys.filter((k) => k.endsWith('(copy already had)')).reduce((a, k) => a + delta(k), 0)
    // a full mesh of 4 forwards each message to everyone: copies arrive that the node already had
    expect(repeats).toBeGreaterThan(0)
    // one verification per message a node gets for the first time (two in flight at once may both be)
    expect(verified).toBeGreaterThanOrEqual(copies - repeats)
    expect(verified).toBeLessThanOrEqual(copies - repeats + 2)
  }, 120_000)
})
