// Both halves of the A2A bridge in one path: an external A2A agent (the SDK's own server, in this
// test) registered with `clawlink a2a add` on alice's node is served by bob's inbound bridge
// (`--a2a`), and the SDK's own client reaches it through both bridges and the mesh between them.
import { rmSync } from 'node:fs'
import { type StreamResponse, type Task, TaskState } from '@a2a-js/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { A2aAgentJson } from '../../src/api/a2a-outbound.js'
import type { TaskJson } from '../../src/api/types.js'
import { a2aClient, a2aUrl, sendRequest, userMessage } from '../helpers/a2a.js'
import { startA2aAgent, type TestA2aAgent } from '../helpers/a2a-agent.js'
import { type Agent, agentMesh, cliJson, eventually, type NodeProcess, startAgent } from '../helpers/cli.js'

const dirs: string[] = []
const procs: NodeProcess[] = []
let external: TestA2aAgent
let alice: Agent
let bob: Agent
let base: string
let aliceProc: NodeProcess

beforeAll(async () => {
  external = await startA2aAgent({ token: 'sekrit' })
  const mesh = agentMesh(dirs)
  alice = mesh('alice')
  bob = mesh('bob')
  alice.env.A2A_TOKEN = 'sekrit'
  aliceProc = await startAgent(procs, alice)
  base = a2aUrl(await startAgent(procs, bob, ['--a2a', '127.0.0.1:0']))
  await cliJson<A2aAgentJson>(['a2a', 'add', 'helper', external.url, '--token-env', 'A2A_TOKEN'], alice.env)
  // bob's node lists it as an agent alice's node hosts
  await eventually(async () => {
    const peers = await cliJson<Array<{ name: string }>>(['discover'], bob.env)
    return peers.some((p) => p.name === 'helper') ? true : undefined
  }, 30_000)
}, 60_000)

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()))
  await external?.down().catch(() => {})
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('an external A2A agent, through both bridges', () => {
  it("bob's bridge serves the card of the agent registered on alice's node, and a message reaches it and comes back", async () => {
    const client = await a2aClient(base, 'helper')
    const card = await client.getAgentCard()
    expect(card.name).toBe('helper')
    expect(card.skills.map((s) => s.id)).toEqual(expect.arrayContaining(['translate', 'echo']))
    expect(card.supportedInterfaces[0]!.url).toBe(`${base}/agents/helper/a2a/jsonrpc`)

    const done = (await client.sendMessage(
      sendRequest('hello both ways', { returnImmediately: false }),
    )) as Task
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED)
    expect(done.artifacts[0]!.parts[0]!.content).toEqual({ $case: 'text', value: 'echo: hello both ways' })
    // the external agent got the message once, under the mesh task's id (the A2A task id at bob)
    expect(external.executed).toContain(done.id)
    const [mesh] = await cliJson<TaskJson[]>(['tasks', '--id', done.id], bob.env)
    expect(mesh).toMatchObject({ state: 'completed', result: 'echo: hello both ways' })
  })

  it("the external agent's question reaches the client; the client's follow-up reaches the agent; it completes", async () => {
    const client = await a2aClient(base, 'helper')
    const stream = client.sendMessageStream({ ...sendRequest('ask me something'), configuration: undefined })
    const events: StreamResponse[] = []
    for await (const e of stream) events.push(e)
    const first = events[0]!.payload
    if (first?.$case !== 'task') throw new Error(`first event is ${first?.$case}`)
    const { id, contextId } = first.value
    const last = events.at(-1)!.payload
    if (last?.$case !== 'statusUpdate') throw new Error(`last event is ${last?.$case}`)
    expect(last.value.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED)
    expect(last.value.status?.message?.parts[0]?.content).toEqual({ $case: 'text', value: 'which color?' })

    await client.sendMessage({
      ...sendRequest('green'),
      message: userMessage('green', { taskId: id, contextId }),
    })
    const done = await eventually(
      async () => {
        const t = await client.getTask({ tenant: '', id, historyLength: undefined })
        return t.status?.state === TaskState.TASK_STATE_COMPLETED ? t : undefined
      },
      30_000,
      200,
    )
    expect(done.artifacts[0]!.parts[0]!.content).toEqual({ $case: 'text', value: 'answer: green' })
  })

  it('a task that cannot be delivered before its TTL (metadata.clawlink.ttl) shows as failed, with the reason', async () => {
    const client = await a2aClient(base, 'helper')
    const bad = { ...sendRequest('never mind'), metadata: { clawlink: { ttl: 'soon' } } }
    await expect(client.sendMessage(bad)).rejects.toThrow(/metadata.clawlink.ttl must be a number of seconds/)
    // the node that hosts the agent goes away: bob's node keeps the task until its TTL runs out
    await aliceProc.stop()
    const sent = (await client.sendMessage({
      ...sendRequest('nobody home'),
      metadata: { clawlink: { ttl: 2 } },
    })) as Task
    expect(sent.status?.state).toBe(TaskState.TASK_STATE_SUBMITTED)
    const failed = await eventually(
      async () => {
        const t = await client.getTask({ tenant: '', id: sent.id, historyLength: undefined })
        return t.status?.state === TaskState.TASK_STATE_FAILED ? t : undefined
      },
      30_000,
      200,
    )
    const reason = failed.status?.message?.parts[0]?.content
    expect(reason?.$case === 'text' && reason.value).toMatch(/^expired: not delivered before its TTL ran out/)
    expect(failed.metadata?.clawlink).toMatchObject({ state: 'expired' })
  })
})
