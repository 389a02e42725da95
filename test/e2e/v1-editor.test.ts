// Who wrote a shared file, as v1 shows it (`last_editor`): two real `clawlink node --v1-api`
// processes driven by v1 HTTP and the CLI, plus an in-process node that plays an older node (its
// entries carry the editor in a `v1-editor=` media type parameter, as old nodes wrote it).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClawLinkNode } from '../../src/core/index.js'
import { type Agent, agentMesh, BIN, cli, eventually, type NodeProcess, startAgent } from '../helpers/cli.js'
import { startNode, type TestMesh, testMesh } from '../helpers/in-process.js'
import { type Msg, v1Client } from '../helpers/v1-client.js'

/** v1 calls on a node: its client's `call`. */
type V1Call = ReturnType<typeof v1Client>['call']
const v1 = (p: NodeProcess): V1Call => v1Client(p).call

describe('v1 last_editor: signed by the node, never taken from a media type', () => {
  const dirs: string[] = []
  const procs: NodeProcess[] = []
  let nodeA: Agent
  let A: V1Call
  let B: V1Call
  let idA: string
  let old: ClawLinkNode | undefined
  let oldMesh: TestMesh | undefined

  beforeAll(async () => {
    const agent = agentMesh(dirs)
    nodeA = agent('edita')
    const nodeB = agent('editb')
    const [pa, pb] = await Promise.all([
      startAgent(procs, nodeA, ['--v1-api', '127.0.0.1:0']),
      startAgent(procs, nodeB, ['--v1-api', '127.0.0.1:0']),
    ])
    A = v1(pa!)
    B = v1(pb!)
    idA = pa!.peerId
    const reg = (call: typeof A, id: string) =>
      call('POST', '/register', { agent_id: id, name: id, capabilities: [], machine: 'm' })
    expect((await reg(A, 'xagent01')).status).toBe(200)
    expect((await reg(B, 'yagent01')).status).toBe(200)
  }, 60_000)

  afterAll(async () => {
    await old?.stop()
    await Promise.all(procs.map((p) => p.stop()))
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
    if (oldMesh != null) rmSync(oldMesh.home, { recursive: true, force: true })
  })

  it('refuses a v1-editor media type parameter from a user (CLI exits 1 with one line, MCP file_put, control API 400)', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'clawlink-editor-'))
    dirs.push(outside)
    const file = join(outside, 'spoof.txt')
    writeFileSync(file, 'spoofed\n')
    for (const type of ['text/plain; v1-editor=mallory', 'text/plain;V1-Editor=mallory']) {
      const c = await cli(['file-put', '--key', 'spoof.txt', '--file', file, '--type', type], nodeA.env)
      expect(c.code, type).toBe(1)
      expect(c.stderr).toMatch(/v1-editor is reserved/)
      expect(c.stderr.trim().split('\n').length).toBe(1)
    }
    const mcp = new Client({ name: 'clawlink-test', version: '1.0.0' })
    await mcp.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN, 'mcp', '--as', nodeA.name],
        env: { PATH: process.env.PATH ?? '', ...(nodeA.env as Record<string, string>) },
        stderr: 'pipe',
      }),
    )
    try {
      const r = await mcp.callTool({
        name: 'file_put',
        arguments: { key: 'spoof.txt', content: 'x', media_type: 'text/plain; v1-editor=mallory' },
      })
      expect(r.isError).toBe(true)
      expect(JSON.stringify(r.content)).toMatch(/v1-editor is reserved/)
    } finally {
      await mcp.close()
    }
    // nothing was written
    const list = await cli(['file-list', '--json'], nodeA.env)
    expect(JSON.parse(list.stdout)).toEqual([])
  })

  it('shows the v1 agent that wrote a version as last_editor on the other node', async () => {
    const w = await A('POST', '/files', {
      file_key: 'plans/edit.md',
      content: 'by xavier',
      agent_id: 'xagent01',
      file_type: 'markdown',
    })
    expect(w.status).toBe(200)
    const got = await eventually(async () => {
      const r = await B('GET', '/files/plans/edit.md')
      return r.status === 200 && r.body.content === 'by xavier' ? r.body : undefined
    })
    expect(got).toMatchObject({ last_editor: 'xagent01', editor_node: idA, file_type: 'markdown' })
    const polled = await eventually(async () => {
      const r = await B('GET', '/poll/yagent01')
      return (r.body.messages as Msg[]).find(
        (m) => m.type === 'file_updated' && m.file_key === 'plans/edit.md',
      )
    })
    expect(polled).toMatchObject({ last_editor: 'xagent01', editor_node: idA })
    // the editor is not in the media type any more: `clawlink file-list` shows what was written
    const list = await cli(['file-list', '--json'], nodeA.env)
    const entry = (JSON.parse(list.stdout) as Msg[]).find((f) => f.key === 'plans/edit.md')
    expect(entry?.mediaType).toBe('text/markdown; v1-type=markdown')
  })

  it('takes 16 broadcast tags, as the mesh carries them, and refuses 17 with 400', async () => {
    const tags = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`)
    const over = await A('POST', '/broadcast', {
      from_agent: 'xagent01',
      content: 'too many',
      tags: tags(17),
    })
    expect(over.status).toBe(400)
    expect(over.body.error).toBe('at most 16 tags')
    const ok = await A('POST', '/broadcast', { from_agent: 'xagent01', content: 'sixteen', tags: tags(16) })
    expect(ok.status).toBe(200)
    const got = await eventually(async () => {
      const r = await B('GET', '/poll/yagent01')
      return (r.body.messages as Msg[]).find((m) => m.content === 'sixteen')
    })
    expect(got).toMatchObject({ type: 'knowledge_broadcast', from_agent: 'xagent01', tags: tags(16) })
  })

  it('never believes a v1-editor parameter from an older node: last_editor is its PeerId', async () => {
    // a home of its own in the CLI agents' mesh
    oldMesh = testMesh({ key: nodeA.env.CLAWLINK_KEY!, mdnsTag: nodeA.env.CLAWLINK_MDNS_TAG! })
    old = await startNode(oldMesh, { name: 'oldnode' })
    const oldId = old.peerId.toString()
    // an older node wrote the v1 editor into the media type, on the protocol level
    const bytes = Buffer.from('crafted')
    const w = await old.blobStore.writer(undefined, old.files.maxFileSize)
    await w.write(bytes)
    await w.finish()
    await old.files.write('crafted.txt', {
      sha256: w.sha256(),
      size: bytes.byteLength,
      mediaType: 'text/plain; v1-type=text; v1-editor=mallory',
    })
    const got = await eventually(async () => {
      const r = await B('GET', '/files/crafted.txt')
      return r.status === 200 ? r.body : undefined
    }, 30_000)
    expect(got.last_editor).toBe(oldId)
    expect(got.editor_node).toBe(oldId)
    const listed = await B('GET', '/files')
    expect((listed.body.files as Msg[]).find((f) => f.file_key === 'crafted.txt')?.last_editor).toBe(oldId)
  }, 45_000)
})
