// A member cannot freeze a shared key with a huge version: versions have 2^53 room, and each entry
// may only step a bounded distance above what a node has seen (or its clock in ms).
import { createHash, randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { loadOrCreateIdentity } from '../../src/core/identity.js'
import { dataDirPaths } from '../../src/home/paths.js'
import { MAX_VERSION_LEAD, MAX_VERSION_STEP } from '../../src/protocols/files/constants.js'
import { createEntry, openEntry } from '../../src/protocols/files/entry.js'
import { startNode, type TestMesh, testMesh } from '../helpers/in-process.js'

type Node = Awaited<ReturnType<typeof startNode>>

async function put(node: Node, mesh: TestMesh, key: string, text: string) {
  const path = join(mesh.home, `put-${randomBytes(4).toString('hex')}`)
  writeFileSync(path, text)
  const blob = await node.blobStore.importFile(path, node.files.maxFileSize)
  return node.files.write(key, { ...blob, mediaType: 'text/plain' })
}

/** An entry of `key` at `version`, validly signed by `node`'s own identity (as a hostile member would). */
async function forge(node: Node, key: string, version: number, base = version - 1): Promise<Uint8Array> {
  const { key: priv } = await loadOrCreateIdentity(dataDirPaths(node.options.dataDir).identity)
  return createEntry(priv, node.libp2p.peerId.toMultihash().bytes, {
    key,
    version,
    base,
    time: Date.now(),
    size: 4,
    sha256: createHash('sha256').update('evil').digest('hex'),
    mediaType: 'text/plain',
    deleted: false,
  })
}

/** Entries a node refused for a version too far ahead (an event of its own: not proof of malice). */
/** Waits until `from` knows `to` subscribes to the files topic, so what it publishes reaches `to`. */
async function subscribed(from: Node, to: Node): Promise<void> {
  const pubsub = from.libp2p.services.pubsub
  await vi.waitFor(
    () => expect(pubsub.getSubscribers(from.files.topic).map(String)).toContain(to.peerId.toString()),
    { timeout: 10_000 },
  )
}

function refused(node: Node): Array<Record<string, unknown>> {
  return node.sink.events.filter((e) => e.event === 'file_entry_refused')
}

describe('shared file versions', () => {
  let mesh: TestMesh
  afterEach(async () => {
    await mesh.cleanup()
  })

  it('a member publishing version 2^31 - 2 does not stop the others from writing and deleting the key', async () => {
    mesh = testMesh()
    const a = await startNode(mesh, { name: 'alice', mdns: false })
    const m = await startNode(mesh, {
      name: 'mallory',
      mdns: false,
      peers: [a.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await put(a, mesh, 'shared.md', 'v1')
    await vi.waitFor(() => expect(m.files.state('shared.md')?.winner.version).toBe(1), { timeout: 10_000 })

    await subscribed(m, a)
    const huge = 2 ** 31 - 2
    await m.libp2p.services.pubsub.publish(m.files.topic, await forge(m, 'shared.md', huge, 1))
    await vi.waitFor(() => expect(a.files.state('shared.md')?.winner.version).toBe(huge), { timeout: 10_000 })

    // alice keeps writing across 2^31 and 2^32 boundaries' neighbourhood, and deletes
    expect((await put(a, mesh, 'shared.md', 'v2')).version).toBe(2 ** 31 - 1)
    expect((await put(a, mesh, 'shared.md', 'v3')).version).toBe(2 ** 31)
    expect((await a.files.write('shared.md', 'delete')).version).toBe(2 ** 31 + 1)
    expect((await put(a, mesh, 'shared.md', 'v5')).version).toBe(2 ** 31 + 2)
    // and mallory's node, an ordinary validator, takes every one of them
    await vi.waitFor(() => expect(m.files.state('shared.md')?.winner.version).toBe(2 ** 31 + 2), {
      timeout: 10_000,
    })
    const exact = [2 ** 31 + 2, 2 ** 31 + 1, 2 ** 31, 2 ** 31 - 1]
    expect(
      m.fileStore
        .history('shared.md')
        .map((e) => e.version)
        .slice(0, 4),
    ).toEqual(exact)
    expect(
      a.fileStore
        .history('shared.md')
        .map((e) => e.version)
        .slice(0, 5),
    ).toEqual([...exact, huge])
  })

  it('refuses a jump of more than MAX_VERSION_STEP, live and in sync, and accepts steps up to it', async () => {
    mesh = testMesh()
    const a = await startNode(mesh, { name: 'alice', mdns: false })
    const m = await startNode(mesh, {
      name: 'mallory',
      mdns: false,
      peers: [a.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await put(a, mesh, 'k.md', 'v1')
    await vi.waitFor(() => expect(m.files.state('k.md')?.winner.version).toBe(1), { timeout: 10_000 })

    // the ceiling is the higher of the key's highest version and the clock in ms, plus the step
    const v1 = Date.now() + MAX_VERSION_STEP - 60_000
    const v2 = v1 + MAX_VERSION_STEP
    await subscribed(m, a)
    const pubsub = m.libp2p.services.pubsub
    await pubsub.publish(m.files.topic, await forge(m, 'k.md', v1, 1))
    await vi.waitFor(() => expect(a.files.state('k.md')?.winner.version).toBe(v1), { timeout: 10_000 })
    await pubsub.publish(m.files.topic, await forge(m, 'k.md', v2, v1))
    await vi.waitFor(() => expect(a.files.state('k.md')?.winner.version).toBe(v2), { timeout: 10_000 })

    // one more than a step above what alice has: refused on the live path
    const jump = v2 + MAX_VERSION_STEP + 1
    await pubsub.publish(m.files.topic, await forge(m, 'k.md', jump, v2))
    await vi.waitFor(
      () => expect(refused(a).some((e) => e.via === 'live' && /version/.test(String(e.reason)))).toBe(true),
      { timeout: 10_000 },
    )
    expect(a.files.state('k.md')?.winner.version).toBe(v2)

    // a node that never saw the key, syncing from mallory: a jump above its clock is refused too
    const far = Date.now() + 10 * MAX_VERSION_STEP
    m.fileStore.put(await openEntry(await forge(m, 'far.md', far, 0), Number.MAX_SAFE_INTEGER))
    const c = await startNode(mesh, {
      name: 'carol',
      mdns: false,
      peers: [m.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(
      () => expect(refused(c).some((e) => e.via === 'sync' && /version/.test(String(e.reason)))).toBe(true),
      { timeout: 10_000 },
    )
    expect(c.files.state('far.md')).toBeUndefined()
    // what alice accepted, carol accepts from the same peer in sync, and alice can still write the key
    await vi.waitFor(() => expect(c.files.state('k.md')?.winner.version).toBe(v2), { timeout: 10_000 })
    expect((await put(a, mesh, 'k.md', 'after')).version).toBe(v2 + 1)

    // however many steps, never more than MAX_VERSION_LEAD above the clock (seen from a clock that
    // makes v2 + 1 sit 10 short of that lead)
    const clock = v2 + 1 + 10 - MAX_VERSION_LEAD
    const at = async (version: number) =>
      openEntry(await forge(m, 'k.md', version, v2 + 1), Number.MAX_SAFE_INTEGER)
    const ok = await at(v2 + 11)
    expect(() => a.files.checkStep(ok, clock)).not.toThrow()
    const over = await at(v2 + 12)
    expect(() => a.files.checkStep(over, clock)).toThrow(/above this node's clock/)
  })
})
