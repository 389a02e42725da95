// The A2A bridge's push notifications and bearer token, end to end: a webhook server in the test gets
// every state change of a bridged task at least once, retried after it fails, also across a kill -9 of
// the bridging node; off loopback the bridge needs a token and its cards declare it.
import { rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Task, TaskState } from '@a2a-js/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventJson, TaskJson } from '../../src/api/types.js'
import { a2aClient, a2aUrl, sendRequest } from '../helpers/a2a.js'
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

interface Hook {
  eventId: string
  token: string | undefined
  state: string
  task: string
  status: number
}

const dirs: string[] = []
const procs: NodeProcess[] = []
let alice: Agent
let bob: Agent
let carol: Agent
let hookServer: Server
let hookUrl: string
const hooks: Hook[] = []
/** how many of the next calls the webhook fails */
let failNext = 0

async function bobGets(id: string): Promise<EventJson> {
  return eventually(async () => {
    const got = await cliJson<EventJson[]>(['poll', '--wait', '2'], bob.env)
    return got.find((e) => e.id === id && e.type === 'task')
  }, 30_000)
}

async function respond(id: string, result: string): Promise<void> {
  await cliJson<TaskJson>(['respond', '--msg-id', id, '--result', result, '--json'], bob.env)
}

/** The states delivered (2xx) for a task, once per event id. */
function delivered(task: string): string[] {
  const seen = new Set<string>()
  return hooks
    .filter((h) => h.task === task && h.status === 200 && !seen.has(h.eventId) && seen.add(h.eventId))
    .map((h) => h.state)
}

beforeAll(async () => {
  hookServer = createServer((req, res) => {
    let body = ''
    req.on('data', (d: Buffer) => {
      body += d.toString()
    })
    req.on('end', () => {
      const json = JSON.parse(body) as { statusUpdate: { taskId: string; status: { state: string } } }
      const status = failNext > 0 ? 500 : 200
      if (failNext > 0) failNext--
      hooks.push({
        eventId: String(req.headers['x-a2a-event-id']),
        token: req.headers['x-a2a-notification-token'] as string | undefined,
        state: json.statusUpdate.status.state,
        task: json.statusUpdate.taskId,
        status,
      })
      res.writeHead(status).end()
    })
  })
  await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r))
  hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`
  const agent = agentMesh(dirs)
  alice = agent('alice')
  bob = agent('bob')
  carol = agent('carol')
  await startAgent(procs, alice, ['--a2a', '127.0.0.1:0'])
  await startAgent(procs, bob, ['--caps', 'review'])
  await seesAll(alice.env, ['bob'])
}, 60_000)

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()))
  hookServer.closeAllConnections()
  hookServer.close()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const pushConfig = () => ({
  tenant: '',
  id: '',
  taskId: '',
  url: hookUrl,
  token: 'hook-secret',
  authentication: undefined,
})

describe('clawlink node --a2a push notifications and token', () => {
  it('calls the webhook on every state change, at least once: a failed call is retried with the same event id', async () => {
    const client = await a2aClient(a2aUrl(procs[0]!), 'bob')
    failNext = 1
    const task = (await client.sendMessage(
      sendRequest('push me', { taskPushNotificationConfig: pushConfig() }),
    )) as Task
    await bobGets(task.id)
    await eventually(
      async () => (delivered(task.id).includes('TASK_STATE_SUBMITTED') ? true : undefined),
      30_000,
    )
    // the first call failed (500) and the retry carried the same event id
    const calls = hooks.filter((h) => h.task === task.id)
    expect(calls[0]!.status).toBe(500)
    expect(calls[1]!.eventId).toBe(calls[0]!.eventId)
    expect(calls[1]!.status).toBe(200)
    expect(calls[0]!.token).toBe('hook-secret')
    await respond(task.id, 'pushed result')
    await eventually(
      async () => (delivered(task.id).includes('TASK_STATE_COMPLETED') ? true : undefined),
      30_000,
    )
    expect(delivered(task.id)).toEqual(['TASK_STATE_SUBMITTED', 'TASK_STATE_COMPLETED'])
    const a = procs[0]!.events.find((e) => e.event === 'a2a_push_retry')
    expect(a).toMatchObject({ task: task.id, attempts: 1 })
  })

  it('a question, the follow-up that answers it and the final state each get a webhook call', async () => {
    const client = await a2aClient(a2aUrl(procs[0]!), 'bob')
    const task = (await client.sendMessage(
      sendRequest('ask me', { taskPushNotificationConfig: pushConfig() }),
    )) as Task
    await bobGets(task.id)
    await cliJson<TaskJson>(
      ['respond', '--msg-id', task.id, '--result', 'which one?', '--status', 'input-required'],
      bob.env,
    )
    await eventually(
      async () => (delivered(task.id).includes('TASK_STATE_INPUT_REQUIRED') ? true : undefined),
      30_000,
    )
    await client.sendMessage({
      ...sendRequest('the blue one'),
      message: { ...sendRequest('the blue one').message!, taskId: task.id },
    })
    await respond(task.id, 'done with blue')
    const later = ['TASK_STATE_INPUT_REQUIRED', 'TASK_STATE_WORKING', 'TASK_STATE_COMPLETED']
    await eventually(
      async () => (delivered(task.id).includes('TASK_STATE_COMPLETED') ? true : undefined),
      30_000,
    )
    expect(delivered(task.id).filter((s) => later.includes(s))).toEqual(later)
  })

  it('a config added with CreateTaskPushNotificationConfig gets the later states; an undelivered push survives kill -9', async () => {
    const client = await a2aClient(a2aUrl(procs[0]!), 'bob')
    const task = (await client.sendMessage(sendRequest('push me later'))) as Task
    const config = await client.createTaskPushNotificationConfig({ ...pushConfig(), taskId: task.id })
    expect(config.id).not.toBe('')
    await bobGets(task.id)
    failNext = 1000 // the webhook is down
    await respond(task.id, 'while the hook was down')
    await eventually(async () => (hooks.some((h) => h.task === task.id) ? true : undefined), 30_000)
    await procs[0]!.stop('SIGKILL')
    failNext = 0
    const again = await startAgent(procs, alice, ['--a2a', '127.0.0.1:0'])
    await eventually(
      async () => (delivered(task.id).includes('TASK_STATE_COMPLETED') ? true : undefined),
      30_000,
    )
    await seesAll(alice.env, ['bob'])
    const after = await a2aClient(a2aUrl(again), 'bob')
    const got = await after.getTask({ tenant: '', id: task.id, historyLength: undefined })
    expect(got.status?.state).toBe(TaskState.TASK_STATE_COMPLETED)
  })

  it('off loopback the bridge needs a token, declares it in its cards, and refuses calls without it', async () => {
    const refused = await cli(['node', '--name', 'carol', '--a2a', '0.0.0.0:0', '--no-mdns'], carol.env)
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(
      /--a2a on 0.0.0.0 is reachable from other hosts: give --a2a-token or CLAWLINK_A2A_TOKEN/,
    )
    const token = 'a2a-test-token-0123456789'
    const p = await startAgent(procs, { ...carol, env: { ...carol.env, CLAWLINK_A2A_TOKEN: token } }, [
      '--a2a',
      '0.0.0.0:0',
    ])
    const port = (p.events.find((e) => e.event === 'a2a_listening')!.port as number) ?? 0
    const base = `http://127.0.0.1:${port}`
    expect(p.events.find((e) => e.event === 'a2a_listening')).toMatchObject({
      auth: true,
      token_from: 'CLAWLINK_A2A_TOKEN',
    })
    await seesAll(carol.env, ['bob'])
    const anonymous = await a2aClient(base, 'bob')
    const card = await anonymous.getAgentCard()
    expect(card.securitySchemes.bearer?.scheme).toMatchObject({
      $case: 'httpAuthSecurityScheme',
      value: { scheme: 'Bearer' },
    })
    expect(card.securityRequirements).toEqual([{ schemes: { bearer: { list: [] } } }])
    await expect(anonymous.sendMessage(sendRequest('no token'))).rejects.toThrow()
    const raw = await fetch(`${base}/agents/bob/a2a/jsonrpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer wrong' },
      body: '{}',
    })
    expect(raw.status).toBe(401)
    const authed = await a2aClient(base, 'bob', token)
    const task = (await authed.sendMessage(sendRequest('with token'))) as Task
    expect(task.status?.state).toBe(TaskState.TASK_STATE_SUBMITTED)
    await bobGets(task.id)
  })
})
