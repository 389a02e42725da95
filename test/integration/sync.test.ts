// Cursor sync with nodes in one process: a node offline while others broadcast and write files catches
// up on reconnect with only what changed, and a pass between nodes already in sync moves under 4 KiB.
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { PeerId } from '@libp2p/interface'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { seen, startNode, type TestMesh, testMesh } from '../helpers/in-process.js'
import { countStreamBytes } from '../helpers/stream-bytes.js'

type Node = Awaited<ReturnType<typeof startNode>>

async function put(node: Node, mesh: TestMesh, key: string, content: string) {
  const path = join(mesh.home, `put-${randomBytes(4).toString('hex')}`)
  writeFileSync(path, content)
  const blob = await node.blobStore.importFile(path, node.files.maxFileSize)
  return node.files.write(key, { ...blob, mediaType: 'text/plain' })
}

/**
 * Bytes sent and received on the stream of `protocol` that `node` opens while `fn` runs (what the
 * protocol moves). A pass started while another one with the same peer runs opens none: try again.
 */
async function streamBytes(node: Node, protocol: string, fn: () => Promise<unknown>): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const r = await countStreamBytes(node, protocol, fn)
    if (r.streams === 1) return r.bytes
    expect(r.streams).toBe(0)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error('no sync pass could start')
}

describe('cursor sync (in-process nodes)', () => {
  let mesh: TestMesh
  afterEach(async () => {
    await mesh.cleanup()
  })

  it('a node offline during broadcasts and file writes catches up on reconnect with only what changed', async () => {
    mesh = testMesh()
    const alice = await startNode(mesh, { name: 'alice', mdns: false })
    const addr = alice.libp2p.getMultiaddrs()[0]!.toString()
    // a history large enough that listing all of it would show: 1,500 broadcasts
    const history = 1500
    for (let i = 0; i < history; i++)
      await alice.knowledge.publish({ topic: 'history', tags: [], content: `finding ${i}` })
    for (let i = 0; i < 5; i++) await put(alice, mesh, `docs/f${i}.md`, `file ${i}`)
    let bob = await startNode(mesh, { name: 'bob', mdns: false, peers: [addr] })
    await vi.waitFor(() => expect(bob.knowledgeStore.count()).toBe(history), { timeout: 30_000 })
    await vi.waitFor(() => expect(bob.fileStore.list('docs/')).toHaveLength(5), { timeout: 10_000 })
    const before = bob.knowledgeStore.sync.cursor(alice.peerId.toString())
    expect(before?.epoch).toBe(alice.knowledgeStore.sync.epoch())

    await bob.stop()
    mesh.nodes.splice(mesh.nodes.indexOf(bob), 1)
    await vi.waitFor(() => expect(seen(alice)).toEqual([]), { timeout: 10_000 })
    const missed = 25
    for (let i = 0; i < missed; i++)
      await alice.knowledge.publish({ topic: 'offline', tags: [], content: `while bob was away ${i}` })
    for (let i = 5; i < 10; i++) await put(alice, mesh, `docs/f${i}.md`, `file ${i}`)
    await alice.files.write('docs/f0.md', 'delete')

    bob = await startNode(mesh, { name: 'bob', mdns: false, peers: [addr] })
    await vi.waitFor(() => expect(bob.knowledgeStore.count()).toBe(history + missed), { timeout: 20_000 })
    await vi.waitFor(() => expect(bob.fileStore.list('docs/')).toHaveLength(10), { timeout: 10_000 })
    await vi.waitFor(() => expect(bob.files.state('docs/f0.md')?.winner.deleted).toBe(true), {
      timeout: 10_000,
    })
    // the catch-up started from the cursor kept across the restart: it moved the 25, not 1,525 ids
    const synced = bob.sink.events.filter(
      (e) => e.event === 'history_synced' && e.peer === alice.peerId.toString(),
    )
    expect(synced.at(-1)).toMatchObject({ fetched: missed })
    expect(synced.at(-1)!.bytes as number).toBeLessThan(history * 10)
    const after = bob.knowledgeStore.sync.cursor(alice.peerId.toString())
    expect(after!.epoch).toBe(before!.epoch)
    expect(after!.seq).toBeGreaterThan(before!.seq)

    // already in sync: a pass of each kind is one small exchange
    const alicePeer: PeerId = alice.peerId
    const k = await streamBytes(bob, bob.knowledge.syncProtocol, () => bob.knowledge.syncFrom(alicePeer))
    const f = await streamBytes(bob, bob.files.syncProtocol, () => bob.files.syncFrom(alicePeer))
    expect(k).toBeGreaterThan(0)
    expect(k).toBeLessThan(4096)
    expect(f).toBeGreaterThan(0)
    expect(f).toBeLessThan(4096)
    // and the other way round
    const back = await streamBytes(alice, alice.knowledge.syncProtocol, () =>
      alice.knowledge.syncFrom(bob.peerId),
    )
    expect(back).toBeLessThan(4096)
  }, 90_000)

  it('a peer whose store started again (a new epoch) is read from zero', async () => {
    mesh = testMesh()
    const alice = await startNode(mesh, { name: 'alice', mdns: false })
    const addr = alice.libp2p.getMultiaddrs()[0]!.toString()
    for (let i = 0; i < 5; i++) await alice.knowledge.publish({ topic: 'a', tags: [], content: `a ${i}` })
    const bob = await startNode(mesh, { name: 'bob', mdns: false, peers: [addr] })
    await vi.waitFor(() => expect(bob.knowledgeStore.count()).toBe(5), { timeout: 10_000 })
    // bob's cursor for alice now claims another epoch, as if alice's store had been made afresh
    const c = bob.knowledgeStore.sync.cursor(alice.peerId.toString())!
    bob.knowledgeStore.sync.setCursor(alice.peerId.toString(), { epoch: 'f'.repeat(32), seq: c.seq + 100 })
    // and bob lost the two oldest: only a pass from zero brings them back
    bob.knowledgeStore.prune(3, 7 * 24 * 3600 * 1000)
    expect(bob.knowledgeStore.count()).toBe(3)
    expect(await bob.knowledge.syncFrom(alice.peerId)).toBe(2)
    expect(bob.knowledgeStore.count()).toBe(5)
    expect(bob.knowledgeStore.sync.cursor(alice.peerId.toString())).toEqual({
      epoch: alice.knowledgeStore.sync.epoch(),
      seq: c.seq,
    })
  }, 30_000)
})
