// The A2A bridge, inbound, end to end: the SDK's own client against a real `clawlink node --a2a`
// process (alice), handing work to bob, another real node, who answers with the CLI.
import { rmSync } from 'node:fs'
import { type StreamResponse, type Task, TaskState } from '@a2a-js/sdk'
import { type Client, ClientFactory } from '@a2a-js/sdk/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventJson, TaskJson } from '../../src/api/types.js'
import { a2aClient, a2aUrl, sendRequest, userMessage } from '../helpers/a2a.js'
import {
  type Agent,
  agentMesh,
  cli,
  cliJson,
  eventually,
  type NodeProcess,
  seesAll,
  startAgent,
} from '../helpers/cli.js'
import { v1Client } from '../helpers/v1-client.js'

const dirs: string[] = []
const procs: NodeProcess[] = []
let alice: Agent
let bob: Agent
let base: string
let client: Client
let aliceProc: NodeProcess

/** bob's next polled task event with this id. */
async function bobGets(id: string, type = 'task'): Promise<EventJson> {
  return eventually(async () => {
    const got = await cliJson<EventJson[]>(['poll', '--wait', '2'], bob.env)
    return got.find((e) => e.id === id && e.type === type)
  }, 30_000)
}

async function respond(id: string, result: string, status = 'completed'): Promise<void> {
  await cliJson<TaskJson>(
    ['respond', '--msg-id', id, '--result', result, '--status', status, '--json'],
    bob.env,
  )
}

async function sendTask(text: string): Promise<Task> {
  const sent = await client.sendMessage(sendRequest(text))
  if (!('status' in sent)) throw new Error('expected a task, got a message')
  return sent
}

beforeAll(async () => {
  const agent = agentMesh(dirs)
  alice = agent('alice')
  bob = agent('bob')
  const a = await startAgent(procs, alice, [
    '--a2a',
    '127.0.0.1:0',
    '--caps',
    'plan',
    '--v1-api',
    '127.0.0.1:0',
  ])
  await startAgent(procs, bob, ['--caps', 'review,code', '--description', 'reviews code'])
  await seesAll(alice.env, ['bob'])
  base = a2aUrl(a)
  aliceProc = a
  client = await a2aClient(base, 'bob')
}, 60_000)

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()))
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('clawlink node --a2a (inbound)', () => {
  it('serves the node agent card and a card for every agent the mesh lists', async () => {
    // biome-ignore lint/suspicious/noExplicitAny: the card is read as a client reads JSON
    const own = (await (await fetch(`${base}/.well-known/agent-card.json`)).json()) as Record<string, any>
    expect(own.name).toBe('alice')
    expect(own.skills.map((s: { id: string }) => s.id)).toEqual(['plan'])
    expect(own.supportedInterfaces[0].url).toBe(`${base}/a2a/jsonrpc`)
    const card = await client.getAgentCard()
    expect(card.name).toBe('bob')
    expect(card.description).toBe('reviews code')
    expect(card.skills.map((s) => s.id)).toEqual(['review', 'code'])
    expect(card.capabilities?.streaming).toBe(true)
    expect(card.capabilities?.pushNotifications).toBe(true)
    expect(card.supportedInterfaces.map((i) => [i.url, i.protocolBinding, i.protocolVersion])).toEqual([
      [`${base}/agents/bob/a2a/jsonrpc`, 'JSONRPC', '1.0'],
      [`${base}/agents/bob/a2a/rest`, 'HTTP+JSON', '1.0'],
    ])
    expect(card.securitySchemes ?? {}).toEqual({})
    expect((await fetch(`${base}/agents/nobody/.well-known/agent-card.json`)).status).toBe(404)
  })

  it('SendMessage delegates a mesh task with the same id; bob answers with the CLI; GetTask shows it completed', async () => {
    const task = await sendTask('review PR 42')
    expect(task.status?.state).toBe(TaskState.TASK_STATE_SUBMITTED)
    const polled = await bobGets(task.id)
    expect(polled.task).toBe('review PR 42')
    expect(polled.from.name).toBe('alice')
    await respond(task.id, 'LGTM, ship it')
    const done = await eventually(async () => {
      const t = await client.getTask({ tenant: '', id: task.id, historyLength: undefined })
      return t.status?.state === TaskState.TASK_STATE_COMPLETED ? t : undefined
    }, 30_000)
    expect(done.contextId).toBe(task.contextId)
    expect(done.artifacts[0]!.parts[0]!.content).toEqual({ $case: 'text', value: 'LGTM, ship it' })
    expect(done.status?.message?.parts[0]?.content).toEqual({ $case: 'text', value: 'LGTM, ship it' })
    expect(done.history[0]!.parts[0]!.content).toEqual({ $case: 'text', value: 'review PR 42' })
    // the mesh's own view of it: alice's agent delegated it
    const mesh = await cliJson<TaskJson[]>(['tasks', '--id', task.id], alice.env)
    expect(mesh[0]!.state).toBe('completed')
  })

  it('a message beyond the SDK parser default of 100 KB, within the mesh task limit, is delegated whole', async () => {
    const big = 'x'.repeat(300 * 1024)
    const task = await sendTask(big)
    const mesh = await cliJson<TaskJson[]>(['tasks', '--id', task.id], alice.env)
    expect(mesh[0]!.task.length).toBe(big.length)
  })

  it('an agent a node hosts (a v1 agent) has its card and takes tasks too', async () => {
    const v1 = v1Client(aliceProc)
    expect((await v1.register('helper-0001', 'helper')).status).toBe(200)
    const hosted = await a2aClient(base, 'helper')
    expect((await hosted.getAgentCard()).skills.map((s) => s.id)).toEqual(['review'])
    const task = (await hosted.sendMessage(sendRequest('hosted hello'))) as Task
    const got = await v1.pollFor(
      'helper-0001',
      (m) => m.type === 'task_delegation' && m.task === 'hosted hello',
    )
    expect(got.task_id).toBe(task.id)
    // a v1 agent cannot take replies: a follow-up to it is refused, the task stays as it was
    await expect(
      hosted.sendMessage({
        ...sendRequest('and another thing'),
        message: userMessage('and another thing', { taskId: task.id }),
      }),
    ).rejects.toThrow(/cannot be delivered as a reply: .*cannot take replies/)
  })

  it('a blocking SendMessage (no returnImmediately) answers once the task is final', async () => {
    const pending = client.sendMessage(sendRequest('block on me', { returnImmediately: false }))
    const polled = await eventually(async () => {
      const got = await cliJson<EventJson[]>(['poll', '--wait', '2'], bob.env)
      return got.find((e) => e.type === 'task' && e.task === 'block on me')
    }, 30_000)
    await respond(polled.id, 'unblocked')
    const done = (await pending) as Task
    expect(done.id).toBe(polled.id)
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED)
    expect(done.artifacts[0]?.parts[0]?.content).toEqual({ $case: 'text', value: 'unblocked' })
  })

  it('ListTasks lists the bridged tasks, by context too', async () => {
    const a = await sendTask('list me one')
    const b = await client.sendMessage({
      ...sendRequest('list me two'),
      message: userMessage('list me two', { contextId: 'ctx-42' }),
    })
    const list = await client.listTasks({
      tenant: '',
      contextId: '',
      status: 0,
      pageSize: 100,
      pageToken: '',
      historyLength: undefined,
      statusTimestampAfter: undefined,
      includeArtifacts: false,
    })
    const ids = list.tasks.map((t) => t.id)
    expect(ids).toContain(a.id)
    expect(ids).toContain((b as Task).id)
    const inCtx = await client.listTasks({
      tenant: '',
      contextId: 'ctx-42',
      status: 0,
      pageSize: 10,
      pageToken: '',
      historyLength: undefined,
      statusTimestampAfter: undefined,
      includeArtifacts: false,
    })
    expect(inCtx.tasks.map((t) => t.id)).toEqual([(b as Task).id])
  })

  it('CancelTask cancels the mesh task, and bob is told', async () => {
    const task = await sendTask('never mind this one')
    await bobGets(task.id)
    const canceled = await client.cancelTask({ tenant: '', id: task.id, metadata: {} })
    expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED)
    const mesh = await cliJson<TaskJson[]>(['tasks', '--id', task.id], alice.env)
    expect(mesh[0]!.state).toBe('canceled')
    await bobGets(task.id, 'task_update')
    const again = await client.getTask({ tenant: '', id: task.id, historyLength: undefined })
    expect(again.status?.state).toBe(TaskState.TASK_STATE_CANCELED)
  })

  it('SendStreamingMessage streams working and completed from the watch feed', async () => {
    const seen: StreamResponse[] = []
    const stream = client.sendMessageStream({ ...sendRequest('stream it'), configuration: undefined })
    const first = await stream.next()
    seen.push(first.value as StreamResponse)
    const task = (first.value as StreamResponse).payload
    if (task?.$case !== 'task') throw new Error(`first event is ${task?.$case}`)
    const id = task.value.id
    await bobGets(id)
    await respond(id, 'halfway', 'working')
    const answered = (async () => {
      // answer once the stream has shown working
      await eventually(
        async () => (states().includes(TaskState.TASK_STATE_WORKING) ? true : undefined),
        30_000,
      )
      await respond(id, 'all done')
    })()
    const states = () =>
      seen.flatMap((e) => (e.payload?.$case === 'statusUpdate' ? [e.payload.value.status!.state] : []))
    for await (const e of stream) seen.push(e)
    await answered
    expect(states()).toEqual([TaskState.TASK_STATE_WORKING, TaskState.TASK_STATE_COMPLETED])
    const artifacts = seen.flatMap((e) =>
      e.payload?.$case === 'artifactUpdate' ? [e.payload.value.artifact!] : [],
    )
    expect(artifacts.at(-1)!.parts[0]!.content).toEqual({ $case: 'text', value: 'all done' })
  })

  it('SubscribeToTask follows a task whose SendMessage already returned', async () => {
    const task = await sendTask('subscribe to me')
    await bobGets(task.id)
    const stream = client.resubscribeTask({ tenant: '', id: task.id })
    const first = await stream.next()
    expect((first.value as StreamResponse).payload?.$case).toBe('task')
    await respond(task.id, 'subscribed result')
    const states: TaskState[] = []
    for await (const e of stream)
      if (e.payload?.$case === 'statusUpdate') states.push(e.payload.value.status!.state)
    expect(states).toEqual([TaskState.TASK_STATE_COMPLETED])
  })

  it('a task canceled with the CLI ends its A2A stream as canceled', async () => {
    const task = await sendTask('cancel me from the CLI')
    await bobGets(task.id)
    const stream = client.resubscribeTask({ tenant: '', id: task.id })
    expect(((await stream.next()).value as StreamResponse).payload?.$case).toBe('task')
    await cliJson<TaskJson>(['cancel', '--msg-id', task.id, '--reason', 'changed plans', '--json'], alice.env)
    const states: TaskState[] = []
    for await (const e of stream)
      if (e.payload?.$case === 'statusUpdate') states.push(e.payload.value.status!.state)
    expect(states).toEqual([TaskState.TASK_STATE_CANCELED])
  })

  it("a question (input-required) reaches the A2A client; its follow-up message is bob's reply; the task completes", async () => {
    const statesOf = (events: StreamResponse[]) =>
      events.flatMap((e) => (e.payload?.$case === 'statusUpdate' ? [e.payload.value.status!] : []))
    const stream = client.sendMessageStream({ ...sendRequest('paint the shed'), configuration: undefined })
    const first = (await stream.next()).value as StreamResponse
    if (first.payload?.$case !== 'task') throw new Error(`first event is ${first.payload?.$case}`)
    const { id, contextId } = first.payload.value
    await bobGets(id)
    await respond(id, 'which color?', 'input-required')
    // the stream ends at the question (as the SDK's streams do), with the question as status message
    const asked: StreamResponse[] = []
    for await (const e of stream) asked.push(e)
    expect(statesOf(asked).map((s) => s.state)).toEqual([TaskState.TASK_STATE_INPUT_REQUIRED])
    const question = { $case: 'text', value: 'which color?' }
    expect(statesOf(asked)[0]!.message?.parts[0]?.content).toEqual(question)
    const got = await client.getTask({ tenant: '', id, historyLength: undefined })
    expect(got.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED)
    expect(got.status?.message?.parts[0]?.content).toEqual(question)

    // the answer: a follow-up message on the task; its stream shows working, then the final state
    const follow = client.sendMessageStream({
      ...sendRequest('green'),
      message: userMessage('green', { taskId: id, contextId }),
      configuration: undefined,
    })
    const again = (await follow.next()).value as StreamResponse
    if (again.payload?.$case !== 'task') throw new Error(`first event is ${again.payload?.$case}`)
    expect(again.payload.value.id).toBe(id)
    expect(again.payload.value.status?.state).toBe(TaskState.TASK_STATE_WORKING)
    const reply = await bobGets(id, 'task_reply')
    expect(reply).toMatchObject({ message: 'green', state: 'working', from: { name: 'alice' } })
    // a subscriber now sees it working, then the final state
    const sub = client.resubscribeTask({ tenant: '', id })
    const subFirst = (await sub.next()).value as StreamResponse
    expect(subFirst.payload?.$case === 'task' && subFirst.payload.value.status?.state).toBe(
      TaskState.TASK_STATE_WORKING,
    )
    await respond(id, 'painted green')
    const rest: StreamResponse[] = []
    for await (const e of follow) rest.push(e)
    expect(statesOf(rest).map((s) => s.state)).toEqual([TaskState.TASK_STATE_COMPLETED])
    const subRest: StreamResponse[] = []
    for await (const e of sub) subRest.push(e)
    expect(statesOf(subRest).map((s) => s.state)).toEqual([TaskState.TASK_STATE_COMPLETED])
    const done = await client.getTask({ tenant: '', id, historyLength: undefined })
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED)
    expect(done.artifacts[0]!.parts[0]!.content).toEqual({ $case: 'text', value: 'painted green' })
    // bob got the reply once
    expect((await cliJson<EventJson[]>(['poll', '--wait', '1'], bob.env)).filter((e) => e.id === id)).toEqual(
      [],
    )

    // a follow-up on a final task is refused as the SDK refuses it; so is one in another context
    await expect(
      client.sendMessage({ ...sendRequest('too late'), message: userMessage('too late', { taskId: id }) }),
    ).rejects.toThrow(/terminal state/)
    const open = await sendTask('keep going')
    await bobGets(open.id)
    await expect(
      client.sendMessage({
        ...sendRequest('elsewhere'),
        message: userMessage('elsewhere', { taskId: open.id, contextId: 'some-other-context' }),
      }),
    ).rejects.toThrow(/contextId mismatch/)
    // a task that asks nothing takes a follow-up too (the mesh lets a delegator reply at any time)
    await respond(open.id, 'on it', 'working')
    const more = (await client.sendMessage({
      ...sendRequest('also the fence'),
      message: userMessage('also the fence', { taskId: open.id }),
    })) as Task
    expect(more.status?.state).toBe(TaskState.TASK_STATE_WORKING)
    expect(await bobGets(open.id, 'task_reply')).toMatchObject({ message: 'also the fence' })
    // a task waiting for an answer can be canceled instead
    await respond(open.id, 'which fence?', 'input-required')
    await eventually(async () => {
      const t = await client.getTask({ tenant: '', id: open.id, historyLength: undefined })
      return t.status?.state === TaskState.TASK_STATE_INPUT_REQUIRED ? true : undefined
    }, 30_000)
    const canceled = await client.cancelTask({ tenant: '', id: open.id, metadata: {} })
    expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED)
    expect((await cliJson<TaskJson[]>(['tasks', '--id', open.id], alice.env))[0]!.state).toBe('canceled')
  })

  it('bad sends get clear errors', async () => {
    await expect(
      client.sendMessage({
        ...sendRequest('second turn'),
        message: userMessage('second turn', { taskId: 'no-such-task-2' }),
      }),
    ).rejects.toThrow(/not found/i)
    await expect(client.sendMessage(sendRequest('   '))).rejects.toThrow(/no text or data part/)
    const own = await a2aClient(base, 'alice').catch((e: Error) => e)
    expect(own).toBeInstanceOf(Error) // alice's own agent lives at the root, not under /agents
    await expect(
      client.getTask({ tenant: '', id: 'no-such-task-1', historyLength: undefined }),
    ).rejects.toThrow(/not found/i)
    // this node's own agent: its card is at the root, and it takes no task through its own bridge
    const root = await new ClientFactory().createFromUrl(base)
    await expect(root.sendMessage(sendRequest('to myself'))).rejects.toThrow(
      /takes no task through its own bridge/,
    )
    const garbage = await fetch(`${base}/agents/bob/a2a/jsonrpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"jsonrpc": ',
    })
    expect(((await garbage.json()) as { error: { code: number } }).error.code).toBe(-32700)
    const r = await cli(['node', '--name', 'x', '--a2a', 'nope:port'], alice.env)
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--a2a expects \[HOST:\]PORT/)
  })
})
