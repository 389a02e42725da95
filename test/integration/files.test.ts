// The shared file map with nodes in one process: concurrent writes, catching up, corrupted transfers.
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { seen, startNode, type TestMesh, testMesh } from '../helpers/in-process.js'

type Node = Awaited<ReturnType<typeof startNode>>

async function put(node: Node, mesh: TestMesh, key: string, content: Uint8Array | string, base?: number) {
  const path = join(mesh.home, `put-${randomBytes(4).toString('hex')}`)
  writeFileSync(path, content)
  const blob = await node.blobStore.importFile(path, node.files.maxFileSize)
  return node.files.write(key, { ...blob, mediaType: 'text/plain' }, base)
}

function content(node: Node, key: string): string | undefined {
  const state = node.files.state(key)
  if (state == null || state.winner.deleted) return undefined
  try {
    return readFileSync(node.blobStore.path(state.winner.sha256), 'utf8')
  } catch {
    return undefined
  }
}

describe('shared files (in-process nodes)', () => {
  let mesh: TestMesh
  afterEach(async () => {
    await mesh.cleanup()
  })

  it('two writes of one key made while disconnected converge to the same winner; the other is kept, flagged', async () => {
    mesh = testMesh()
    const stop = async (n: Node) => {
      await n.stop()
      mesh.nodes.splice(mesh.nodes.indexOf(n), 1)
    }
    let a = await startNode(mesh, { name: 'alice', mdns: false })
    let b = await startNode(mesh, {
      name: 'bob',
      mdns: false,
      peers: [a.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await put(a, mesh, 'plan.md', 'base plan')
    await vi.waitFor(() => expect(content(b, 'plan.md')).toBe('base plan'), { timeout: 10_000 })
    const addrA = a.libp2p.getMultiaddrs()[0]!.toString()

    // a real partition: each writes version 2 on top of version 1 while the other is down
    await stop(b)
    await put(a, mesh, 'plan.md', "alice's plan", 1)
    await stop(a)
    b = await startNode(mesh, { name: 'bob', mdns: false })
    await put(b, mesh, 'plan.md', "bob's plan", 1)
    expect(b.files.state('plan.md')!.winner.version).toBe(2)
    expect(content(b, 'plan.md')).toBe("bob's plan")

    // alice comes back on her old address; bob, who remembers her, reconnects
    a = await startNode(mesh, { name: 'alice', mdns: false, listen: [addrA.split('/p2p/')[0]!] })
    expect(content(a, 'plan.md')).toBe("alice's plan")
    await vi.waitFor(
      () => {
        const sa = a.files.state('plan.md')!
        const sb = b.files.state('plan.md')!
        expect(sa.winner.id).toBe(sb.winner.id)
        expect(sa.versions).toBe(3)
        expect(sb.versions).toBe(3)
        expect(sa.conflict).toBe(true)
        expect(sb.conflict).toBe(true)
        expect(content(a, 'plan.md')).toBe(content(b, 'plan.md'))
      },
      { timeout: 20_000 },
    )
    // the tie at version 2 goes to the higher PeerId, on both nodes
    const winner = [a, b]
      .map((n) => n.peerId.toString())
      .sort()
      .at(-1)
    expect(a.files.state('plan.md')!.winner.author).toBe(winner)
    const history = a.fileStore.history('plan.md')
    const loser = history.find((e) => e.version === 2 && e.author !== winner)!
    // nothing is lost: the losing write's content is still here
    expect(readFileSync(a.blobStore.path(loser.sha256), 'utf8')).toMatch(/plan$/)
    // the agents were told, with the conflict flag
    expect(a.inbox.take(10, true).some((e) => e.type === 'file_updated' && e.conflict === true)).toBe(true)

    // someone merges and writes again: the conflict is over, everywhere
    await put(b, mesh, 'plan.md', 'merged plan', 2)
    await vi.waitFor(
      () => {
        for (const n of [a, b]) {
          expect(n.files.state('plan.md')!.conflict).toBe(false)
          expect(content(n, 'plan.md')).toBe('merged plan')
        }
      },
      { timeout: 10_000 },
    )
  })

  it('a corrupted transfer is discarded and the content fetched from another peer', async () => {
    mesh = testMesh()
    const a = await startNode(mesh, { name: 'alice', mdns: false })
    const b = await startNode(mesh, {
      name: 'bob',
      mdns: false,
      peers: [a.libp2p.getMultiaddrs()[0]!.toString()],
    })
    const data = randomBytes(300_000)
    const entry = await put(a, mesh, 'data.bin', data)
    await vi.waitFor(async () => expect(await b.blobStore.has(entry.sha256)).toBe(true), { timeout: 10_000 })
    // alice's copy rots on disk (same length, other bytes)
    const rotten = Buffer.from(data)
    rotten[1000] = (rotten[1000] ?? 0) ^ 0xff
    writeFileSync(a.blobStore.path(entry.sha256), rotten)

    // carol asks alice (the author) first, gets bad bytes, discards them, and gets them from bob
    const c = await startNode(mesh, {
      name: 'carol',
      mdns: false,
      peers: [a.libp2p.getMultiaddrs()[0]!.toString(), b.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(() => expect(seen(c)).toEqual(['alice', 'bob']), { timeout: 10_000 })
    await vi.waitFor(async () => expect(await c.blobStore.has(entry.sha256)).toBe(true), { timeout: 15_000 })
    expect(Buffer.compare(readFileSync(c.blobStore.path(entry.sha256)), data)).toBe(0)
    const invalid = c.sink.events.filter((e) => e.event === 'blob_invalid')
    expect(invalid.length).toBeGreaterThanOrEqual(1)
    expect(invalid[0]!.peer).toBe(a.peerId.toString())
    expect(String(invalid[0]!.reason)).toMatch(/content does not match/)
  })

  it('a transfer that fails is reported with the peer and the reason, not as content nobody has', async () => {
    mesh = testMesh()
    const a = await startNode(mesh, { name: 'alice', mdns: false })
    const data = randomBytes(300_000)
    const entry = await put(a, mesh, 'only.bin', data)
    const rotten = Buffer.from(data)
    rotten[5] = (rotten[5] ?? 0) ^ 0xff
    writeFileSync(a.blobStore.path(entry.sha256), rotten)
    const b = await startNode(mesh, {
      name: 'bob',
      mdns: false,
      peers: [a.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(() => expect(b.sink.events.some((e) => e.event === 'blob_invalid')).toBe(true), {
      timeout: 10_000,
    })
    const result = await b.files.ensureBlob(entry.sha256, entry.size, a.peerId.toString())
    expect(result.ok).toBe(false)
    expect(result.ok ? '' : result.reason).toMatch(
      new RegExp(`^fetching it failed: from ${a.peerId.toString().slice(0, 16)}… content does not match`),
    )
  })

  it('refuses bad keys, stale bases and oversized files', async () => {
    mesh = testMesh()
    const a = await startNode(mesh, { name: 'alice', mdns: false, maxFileSize: 1000 })
    for (const key of ['/etc/passwd', 'a/../b', '', 'x'.repeat(513), 'nul\u0000byte']) {
      await expect(put(a, mesh, key, 'x')).rejects.toThrow(/invalid key/)
    }
    await expect(put(a, mesh, 'big.bin', randomBytes(1001))).rejects.toThrow(/1001 bytes; the limit is 1000/)
    await put(a, mesh, 'ok.txt', 'one')
    await expect(put(a, mesh, 'ok.txt', 'two', 0)).rejects.toThrow(/at version 1 .*not 0/)
    expect(content(a, 'ok.txt')).toBe('one')
  })

  it('keeps the last N versions of a key, drops older ones and their content, and replicates the bound', async () => {
    mesh = testMesh()
    const a = await startNode(mesh, { name: 'alice', mdns: false, fileHistory: 5 })
    const b = await startNode(mesh, {
      name: 'bob',
      mdns: false,
      fileHistory: 5,
      peers: [a.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(() => expect(seen(a)).toEqual(['bob']), { timeout: 10_000 })
    const shas: string[] = []
    for (let i = 1; i <= 8; i++) shas.push((await put(a, mesh, 'log.txt', `entry ${i}`, i - 1)).sha256)
    await vi.waitFor(() => expect(content(b, 'log.txt')).toBe('entry 8'), { timeout: 10_000 })
    for (const n of [a, b]) {
      const history = n.fileStore.history('log.txt')
      expect(history.map((e) => e.version)).toEqual([8, 7, 6, 5, 4])
      expect(n.files.state('log.txt')!.conflict).toBe(false)
      await n.files.collectGarbage(0)
      expect(await n.blobStore.has(shas[0]!)).toBe(false)
      expect(await n.blobStore.has(shas[7]!)).toBe(true)
    }
  })

  it('survives garbage on the sync and blob protocols', async () => {
    mesh = testMesh()
    const a = await startNode(mesh, { name: 'alice', mdns: false })
    const m = await startNode(mesh, {
      name: 'mallory',
      mdns: false,
      peers: [a.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(() => expect(seen(a)).toEqual(['mallory']), { timeout: 10_000 })
    await put(a, mesh, 'x.txt', 'still here')
    for (const protocol of [a.files.syncProtocol, a.files.blobProtocol]) {
      for (const frame of [Uint8Array.from([0xff, 0xff, 0xff, 0x0f, 1, 2, 3]), new Uint8Array(200_000)]) {
        const stream = await m.libp2p.dialProtocol(a.peerId, protocol)
        stream.send(frame)
        await stream.close().catch(() => {})
      }
    }
    // a blob request for content alice does not reference: not found, nothing leaks
    await expect(m.files.ensureBlob('ab'.repeat(32), 10, a.peerId.toString())).resolves.toEqual({
      ok: false,
      reason: 'no connected peer has it',
    })
    await new Promise((r) => setTimeout(r, 300))
    // alice is up and serving
    const c = await startNode(mesh, {
      name: 'carol',
      mdns: false,
      peers: [a.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(() => expect(content(c, 'x.txt')).toBe('still here'), { timeout: 10_000 })
  })
})
