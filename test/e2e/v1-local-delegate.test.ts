// A node's own agent delegates to a v1 agent hosted by that same node: one real `clawlink node
// --v1-api` process driven by the CLI, and a v1 client over raw HTTP that polls and responds. The task
// is a local task (no mesh): `tasks`, `delegate --wait`, `cancel` and `poll` see it like any other,
// and it survives a kill -9 between the v1 agent's poll and its answer.
import { rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PeerJson, TaskJson } from '../../src/api/types.js'
import {
  type Agent,
  agentMesh,
  cli,
  cliJson,
  eventually,
  type NodeProcess,
  startAgent,
} from '../helpers/cli.js'
import { type Msg, v1Client as v1 } from '../helpers/v1-client.js'

describe("a node's own agent delegates to its v1 agents", () => {
  const dirs: string[] = []
  const procs: NodeProcess[] = []
  let node: Agent
  let proc: NodeProcess
  let self: string
  let V: ReturnType<typeof v1>

  const start = async () => {
    proc = await startAgent(procs, node, ['--v1-api', '127.0.0.1:0'])
    self = proc.peerId
    V = v1(proc)
  }

  beforeAll(async () => {
    node = agentMesh(dirs)('loca')
    await start()
    const r = await V.call('POST', '/register', {
      agent_id: 'xagent01',
      name: 'xavier',
      capabilities: ['review'],
      machine: 'm',
    })
    expect(r.status).toBe(200)
  }, 30_000)

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()))
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  it('lists its own v1 agents in discover (kind hosted, hostedBy this node)', async () => {
    const peers = await cliJson<PeerJson[]>(['discover'], node.env)
    expect(peers.find((p) => p.id === 'xagent01')).toMatchObject({
      name: 'xavier',
      caps: ['review'],
      status: 'online',
      kind: 'hosted',
      hostedBy: { id: self, name: 'loca' },
    })
    expect((await cli(['discover'], node.env)).stdout).toContain('xavier (on loca)')
    const byCap = await cliJson<PeerJson[]>(['discover', '--cap', 'review'], node.env)
    expect(byCap.map((p) => p.id)).toEqual(['xagent01'])
  })

  it('delegate --to NAME --wait gets the answer the v1 agent sends with /respond', async () => {
    const waiting = cliJson<TaskJson>(
      ['delegate', '--to', 'xavier', '--task', 'review this', '--wait', '30'],
      node.env,
    )
    const m = await V.pollFor('xagent01', (x) => x.type === 'task_delegation' && x.task === 'review this')
    expect(m).toMatchObject({ from_node: self, from_agent: 'loca', to_agent: 'xagent01' })
    expect(m.message_id).toMatch(/^[0-9a-f]{12}$/)
    const r = await V.call('POST', '/respond', {
      from_agent: 'xagent01',
      message_id: m.message_id,
      result: 'looks good',
      status: 'completed',
    })
    expect(r.status).toBe(200)
    const t = await waiting
    expect(t).toMatchObject({
      id: m.task_id,
      direction: 'sent',
      to: { id: self },
      toAgent: 'xagent01',
      state: 'completed',
      result: 'looks good',
    })
    const tasks = await cliJson<TaskJson[]>(['tasks'], node.env)
    expect(tasks.find((x) => x.id === t.id)?.state).toBe('completed')
    // the node's log names the v1 agent
    const delivered = await eventually(async () =>
      proc.events.find((e) => e.event === 'task_delivered' && e.task === t.id),
    )
    expect(delivered).toMatchObject({ to: self, toAgent: 'xagent01' })
    await eventually(async () =>
      proc.events.find((e) => e.event === 'task_updated' && e.task === t.id && e.state === 'completed'),
    )
    const inbox = await cliJson<Msg[]>(['poll'], node.env)
    expect(inbox.find((e) => e.id === t.id)).toMatchObject({ type: 'task_update', state: 'completed' })
    // answered once: a second answer is refused, as for any final task
    const again = await V.call('POST', '/respond', {
      from_agent: 'xagent01',
      message_id: m.message_id,
      result: 'again',
      status: 'completed',
    })
    expect(again.status).toBe(409)
  }, 45_000)

  it('--cap picks the hosted agent; cancel reaches it as task_cancelled', async () => {
    const t = await cliJson<TaskJson>(['delegate', '--cap', 'review', '--task', 'by cap'], node.env)
    expect(t).toMatchObject({ to: { id: self }, toAgent: 'xagent01', state: 'delivered' })
    await V.pollFor('xagent01', (x) => x.type === 'task_delegation' && x.task_id === t.id)
    const c = await cliJson<TaskJson>(['cancel', '--msg-id', t.id, '--reason', 'not needed'], node.env)
    expect(c.state).toBe('canceled')
    const m = await V.pollFor('xagent01', (x) => x.type === 'task_cancelled' && x.task_id === t.id)
    expect(m.reason).toBe('not needed')
    // the v1 agent cannot answer a canceled task
    const r = await V.call('POST', '/respond', {
      from_agent: 'xagent01',
      message_id: m.message_id,
      result: 'late',
      status: 'completed',
    })
    expect(r.status).toBe(409)
  }, 30_000)

  it('keeps a local task across a kill -9 between the poll and the answer', async () => {
    const t = await cliJson<TaskJson>(['delegate', '--to', 'xagent01', '--task', 'survive'], node.env)
    const m = await V.pollFor('xagent01', (x) => x.type === 'task_delegation' && x.task_id === t.id)
    await proc.stop('SIGKILL')
    await start()
    const r = await V.call('POST', '/respond', {
      from_agent: 'xagent01',
      message_id: m.message_id,
      result: 'still here',
      status: 'completed',
    })
    expect(r.status).toBe(200)
    const done = await cliJson<TaskJson>(
      ['delegate', '--to', 'xagent01', '--task', 'survive', '--id', t.id, '--wait', '10'],
      node.env,
    )
    expect(done).toMatchObject({ id: t.id, state: 'completed', result: 'still here' })
    const inbox = await cliJson<Msg[]>(['poll'], node.env)
    expect(inbox.find((e) => e.id === t.id)).toMatchObject({ type: 'task_update', result: 'still here' })
  }, 45_000)

  it('lets a v1 client that restarted (a new id, same name and machine) answer its local task', async () => {
    const t = await cliJson<TaskJson>(['delegate', '--to', 'xavier', '--task', 'after restart'], node.env)
    const m = await V.pollFor('xagent01', (x) => x.type === 'task_delegation' && x.task_id === t.id)
    // v1 clients make a new random id at every register
    const reg = await V.call('POST', '/register', {
      agent_id: 'xagent02',
      name: 'xavier',
      capabilities: ['review'],
      machine: 'm',
    })
    expect(reg.status).toBe(200)
    const r = await V.call('POST', '/respond', {
      from_agent: 'xagent02',
      message_id: m.message_id,
      result: 'new me',
      status: 'completed',
    })
    expect(r.status).toBe(200)
    const tasks = await cliJson<TaskJson[]>(['tasks'], node.env)
    expect(tasks.find((x) => x.id === t.id)).toMatchObject({ state: 'completed', toAgent: 'xagent02' })
  }, 30_000)

  it('refuses a hosted agent unknown here with a one-line error', async () => {
    const r = await cli(['delegate', '--to', 'nobody01', '--task', 'x'], node.env)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/no agent "nobody01"/)
  })
})
