// Who a broadcast is from, and that every recipient on a node gets what any other node's would: two
// real `clawlink node --v1-api` processes driven by v1 HTTP and the CLI, plus an in-process node that
// plays an older node (its broadcasts carry a `v1-from:` tag, as old nodes marked the v1 author).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PeerJson, TaskJson } from '../../src/api/types.js'
import type { ClawLinkNode } from '../../src/core/index.js'
import {
  type Agent,
  agentMesh,
  cli,
  cliJson,
  eventually,
  type NodeProcess,
  startAgent,
} from '../helpers/cli.js'
import { startNode, type TestMesh, testMesh } from '../helpers/in-process.js'
import { type Msg, v1Client as v1 } from '../helpers/v1-client.js'

describe('v1 attribution and agents of one node', () => {
  const dirs: string[] = []
  const procs: NodeProcess[] = []
  let nodeA: Agent
  let nodeB: Agent
  let A: ReturnType<typeof v1>
  let B: ReturnType<typeof v1>
  let idA: string
  let idB: string
  let old: ClawLinkNode | undefined
  let oldMesh: TestMesh | undefined

  beforeAll(async () => {
    const agent = agentMesh(dirs)
    nodeA = agent('attra')
    nodeB = agent('attrb')
    const [pa, pb] = await Promise.all([
      startAgent(procs, nodeA, ['--v1-api', '127.0.0.1:0']),
      startAgent(procs, nodeB, ['--v1-api', '127.0.0.1:0']),
    ])
    A = v1(pa!)
    B = v1(pb!)
    idA = pa!.peerId
    idB = pb!.peerId
    expect((await A.register('xagent01', 'xavier')).status).toBe(200)
    expect((await B.register('yagent01', 'yolanda')).status).toBe(200)
    // both nodes know each other's hosted agent (it travels on the presence card)
    await eventually(async () => {
      const r = await A.call('GET', '/discover')
      return (r.body.agents as Msg[]).some((x) => x.agent_id === 'yagent01') ? true : undefined
    })
    await eventually(async () => {
      const r = await B.call('GET', '/discover')
      return (r.body.agents as Msg[]).some((x) => x.agent_id === 'xagent01') ? true : undefined
    })
  }, 60_000)

  afterAll(async () => {
    await old?.stop()
    await Promise.all(procs.map((p) => p.stop()))
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
    if (oldMesh != null) rmSync(oldMesh.home, { recursive: true, force: true })
  })

  it('refuses user tags in the reserved v1-from: namespace (v1 API, control API, CLI)', async () => {
    const r = await A.call('POST', '/broadcast', {
      from_agent: 'xagent01',
      content: 'spoof',
      tags: ['V1-From:mallory', 'ok'],
    })
    expect(r.status).toBe(400)
    expect(JSON.stringify(r.body)).toContain('reserved')
    const c = await cli(['broadcast', '--content', 'spoof', '--tags', 'v1-from:mallory,ok'], nodeA.env)
    expect(c.code).toBe(1)
    expect(c.stderr).toMatch(/v1-from:mallory.*reserved/)
    expect(c.stderr.trim().split('\n').length).toBe(1)
  })

  it('carries a v1 broadcast author in the signed field: it arrives on the other node as from_agent', async () => {
    const r = await A.call('POST', '/broadcast', {
      from_agent: 'xagent01',
      content: 'hello from xavier',
      tags: ['ok'],
    })
    expect(r.status).toBe(200)
    const m = await B.pollFor('yagent01', (x) => x.content === 'hello from xavier')
    expect(m.from_agent).toBe('xagent01')
    expect(m.tags).toEqual(['ok'])
    // the node's own agent sees which hosted agent sent it too
    const events = await cliJson<Msg[]>(['poll', '--json'], nodeB.env)
    const e = events.find((x) => x.content === 'hello from xavier')
    expect(e?.fromHostedAgent).toBe('xagent01')
    const held = await cliJson<Msg[]>(['knowledge', '--json'], nodeB.env)
    expect(held.find((x) => x.content === 'hello from xavier')?.fromHostedAgent).toBe('xagent01')
  })

  it('does not believe a v1-from: tag from an older node: the author is the peer', async () => {
    // an older node: it publishes on the protocol level, where the tag was how v1 authors travelled
    // a home of its own in the CLI agents' mesh
    oldMesh = testMesh({ key: nodeA.env.CLAWLINK_KEY!, mdnsTag: nodeA.env.CLAWLINK_MDNS_TAG! })
    old = await startNode(oldMesh, { name: 'oldnode' })
    const oldId = old.peerId.toString()
    await eventually(async () =>
      old!.presence.peers().some((p) => p.card.name === 'attrb') ? true : undefined,
    )
    // gossipsub needs a mesh before a publish goes out; history sync would bring it anyway
    await old.knowledge.publish({ topic: 'general', tags: ['v1-from:mallory', 'ok'], content: 'crafted' })
    const m = await B.pollFor('yagent01', (x) => x.content === 'crafted', 30_000)
    expect(m.from_agent).toBe(oldId)
    expect(m.from_agent).not.toBe('mallory')
    expect(m.from_node).toBe(oldId)
  }, 45_000)

  it("reaches the node's own v1 agents with its broadcast and file-put", async () => {
    const c = await cli(['broadcast', '--content', 'from the node itself', '--tags', 'x'], nodeA.env)
    expect(c.code, c.stderr).toBe(0)
    const m = await A.pollFor('xagent01', (x) => x.content === 'from the node itself')
    expect(m.type).toBe('knowledge_broadcast')
    expect(m.from_node).toBe(idA)
    const outside = mkdtempSync(join(tmpdir(), 'clawlink-attr-file-'))
    dirs.push(outside)
    const file = join(outside, 'notes.txt')
    writeFileSync(file, 'shared notes\n')
    const put = await cli(['file-put', '--key', 'attr/notes.txt', '--file', file], nodeA.env)
    expect(put.code, put.stderr).toBe(0)
    const f = await A.pollFor('xagent01', (x) => x.type === 'file_updated' && x.file_key === 'attr/notes.txt')
    expect(f.version).toBe(1)
    expect(f.editor_node).toBe(idA)
  })

  it("lists a peer's hosted agent in discover and delegates to it by name and by id", async () => {
    const peers = await eventually(async () => {
      const list = await cliJson<PeerJson[]>(['discover', '--json'], nodeA.env)
      return list.some((p) => p.kind === 'hosted' && p.id === 'yagent01') ? list : undefined
    })
    const y = peers.find((p) => p.id === 'yagent01')!
    expect(y).toMatchObject({ name: 'yolanda', kind: 'hosted', hostedBy: { id: idB, name: 'attrb' } })
    expect(peers.find((p) => p.id === idB)?.kind).toBe('node')
    const table = await cli(['discover'], nodeA.env)
    expect(table.stdout).toContain('yolanda (on attrb)')

    const t = await cliJson<TaskJson>(
      ['delegate', '--to', 'yolanda', '--task', 'review this', '--json'],
      nodeA.env,
    )
    expect(t.to.id).toBe(idB)
    const m = await B.pollFor('yagent01', (x) => x.type === 'task_delegation' && x.task === 'review this')
    // v1 names a task by its short id; the full one is the extra task_id
    expect(m.task_id).toBe(t.id)
    const byId = await cliJson<TaskJson>(
      ['delegate', '--to', 'yagent01', '--task', 'by id', '--json'],
      nodeA.env,
    )
    await B.pollFor('yagent01', (x) => x.type === 'task_delegation' && x.task === 'by id')
    // neither landed in node B's own inbox
    const inbox = await cliJson<Msg[]>(['poll', '--json'], nodeB.env)
    expect(inbox.filter((e) => e.id === t.id || e.id === byId.id)).toEqual([])
    // the hosted agent's answer comes back to node A's agent
    const r = await B.call('POST', '/respond', {
      from_agent: 'yagent01',
      message_id: t.id,
      result: 'looks good',
      status: 'completed',
    })
    expect(r.status).toBe(200)
    await eventually(async () => {
      const tasks = await cliJson<TaskJson[]>(['tasks', '--json'], nodeA.env)
      return tasks.find((x) => x.id === t.id && x.state === 'completed') != null ? true : undefined
    })
  }, 45_000)
})
