// Strings are carried intact or refused, never silently changed: a NUL inside a task, a result or a
// broadcast survives the CLI, the control API, the store and the wire between two real nodes; invalid
// UTF-8 and lone surrogates are refused with a clear error at every entrance (control API, v1 API, stdin).

import { rmSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BroadcastJson, EventJson, TaskJson } from '../../src/api/types.js'
import { dataDirPaths } from '../../src/home/paths.js'
import {
  type Agent,
  agentMesh,
  cli,
  cliJson,
  eventually,
  type NodeProcess,
  startAgent,
} from '../helpers/cli.js'

const TASK = 'keep\u0000secret \u{1F600}'
const RESULT = 'done\u0000and this part too'
const NEWS = 'news\u0000tail'
const V1_TASK = 'v1 task\u0000with a NUL'
const V1_RESULT = 'v1 result\u0000after NUL'
const INVALID_UTF8 = Buffer.concat([
  Buffer.from('{"to":"bob","task":"bad '),
  Buffer.from([0xff, 0xfe]),
  Buffer.from('"}'),
])

interface Raw {
  status: number
  body: Record<string, unknown>
}

/** One raw HTTP request (bytes as given), over a Unix socket or TCP. */
function raw(
  target: { socketPath: string } | { url: string },
  method: string,
  path: string,
  body?: Buffer | string,
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const base =
      'socketPath' in target
        ? { socketPath: target.socketPath }
        : { host: new URL(target.url).hostname, port: Number(new URL(target.url).port) }
    const req = request(
      { ...base, method, path, headers: { 'content-type': 'application/json', connection: 'close' } },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

describe('strings carried intact or refused, between two real nodes', () => {
  const homes: string[] = []
  const procs: NodeProcess[] = []
  let alice: Agent
  let bob: Agent
  let aliceNode: NodeProcess
  let bobNode: NodeProcess
  const socket = (a: Agent) => ({ socketPath: dataDirPaths(join(a.home, 'agents', a.name)).socket })
  const v1Url = (p: NodeProcess) => p.events.find((x) => x.event === 'v1_api_listening')!.url as string

  beforeAll(async () => {
    const agent = agentMesh(homes)
    alice = agent('alice')
    bob = agent('bob')
    ;[aliceNode, bobNode] = await Promise.all([
      startAgent(procs, alice, ['--v1-api', '127.0.0.1:0']),
      startAgent(procs, bob, ['--v1-api', '127.0.0.1:0']),
    ])
    await eventually(async () =>
      (await cliJson<Array<{ name: string }>>(['discover'], alice.env)).some((p) => p.name === 'bob')
        ? true
        : undefined,
    )
  }, 40_000)

  afterAll(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true })
  })

  it('a NUL inside a task, a result and a broadcast survives CLI stdin, both stores and the wire', async () => {
    const del = await cli(['delegate', '--to', 'bob', '--task', '-', '--json'], alice.env, { input: TASK })
    expect(del.stderr).toBe('')
    const sent = JSON.parse(del.stdout) as TaskJson
    expect(sent.task).toBe(TASK)
    // read back from the sender's store
    expect((await cliJson<TaskJson[]>(['tasks', '--id', sent.id], alice.env))[0]!.task).toBe(TASK)

    const got = await eventually(async () =>
      (await cliJson<EventJson[]>(['poll'], bob.env)).find((e) => e.id === sent.id),
    )
    expect(got.task).toBe(TASK)
    expect((await cliJson<TaskJson[]>(['tasks', '--id', sent.id], bob.env))[0]!.task).toBe(TASK)

    const resp = await cli(['respond', '--msg-id', sent.id, '--result', '-', '--json'], bob.env, {
      input: RESULT,
    })
    expect(resp.code, resp.stderr).toBe(0)
    const done = await eventually(async () => {
      const t = (await cliJson<TaskJson[]>(['tasks', '--id', sent.id], alice.env))[0]!
      return t.state === 'completed' ? t : undefined
    })
    expect(done.result).toBe(RESULT)

    const bc = await cli(['broadcast', '--content', '-', '--json'], alice.env, { input: NEWS })
    expect(bc.code, bc.stderr).toBe(0)
    const id = (JSON.parse(bc.stdout) as BroadcastJson).id
    expect((await cliJson<BroadcastJson[]>(['knowledge'], alice.env)).find((b) => b.id === id)?.content).toBe(
      NEWS,
    )
    const heard = await eventually(async () =>
      (await cliJson<BroadcastJson[]>(['knowledge'], bob.env)).find((b) => b.id === id),
    )
    expect(heard.content).toBe(NEWS)
  }, 60_000)

  it('refuses invalid UTF-8 on stdin with a one-line error and sends nothing', async () => {
    const before = (await cliJson<TaskJson[]>(['tasks'], alice.env)).length
    const r = await cli(['delegate', '--to', 'bob', '--task', '-'], alice.env, {
      input: Buffer.from([0x62, 0x61, 0x64, 0xff, 0x0a]),
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/stdin is not valid UTF-8/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect((await cliJson<TaskJson[]>(['tasks'], alice.env)).length).toBe(before)
  })

  it('the control API answers 400 to invalid UTF-8, lone surrogates and NUL in names', async () => {
    const s = socket(alice)
    const bad = await raw(s, 'POST', '/v1/tasks', INVALID_UTF8)
    expect(bad).toEqual({
      status: 400,
      body: { error: { code: 'bad_encoding', message: 'request body is not valid UTF-8' } },
    })
    const lone = await raw(s, 'POST', '/v1/tasks', '{"to":"bob","task":"half \\ud800 a pair"}')
    expect(lone.status).toBe(400)
    expect(lone.body.error).toEqual({
      code: 'bad_encoding',
      message: 'task is not valid Unicode (a lone surrogate)',
    })
    const loneBc = await raw(s, 'POST', '/v1/broadcast', '{"content":"x","tags":["ok","\\udc00"]}')
    expect(loneBc.status).toBe(400)
    expect((loneBc.body.error as { message: string }).message).toBe(
      'tags[1] is not valid Unicode (a lone surrogate)',
    )
    const query = await raw(s, 'GET', '/v1/knowledge?topic=%FF')
    expect(query.status).toBe(400)
    expect((query.body.error as { message: string }).message).toBe('query string is not valid UTF-8')
    // names refuse NUL and other control characters, as before
    const name = await raw(s, 'POST', '/v1/broadcast', '{"content":"x","topic":"a\\u0000b"}')
    expect(name.status).toBe(400)
    // nothing refused reached the store
    expect((await cliJson<TaskJson[]>(['tasks'], alice.env)).some((t) => t.task.startsWith('half'))).toBe(
      false,
    )
  })

  it('the v1 API carries a NUL across the mesh and answers 400 to invalid UTF-8 and lone surrogates', async () => {
    const A = v1Url(aliceNode)
    const B = v1Url(bobNode)
    const post = (url: string, path: string, body: unknown) =>
      raw({ url }, 'POST', path, JSON.stringify(body))
    const reg = { capabilities: [], machine: 'm', description: 'd' }
    expect((await post(A, '/register', { agent_id: 'a1', name: 'A1', ...reg })).status).toBe(200)
    expect((await post(B, '/register', { agent_id: 'b1', name: 'B1', ...reg })).status).toBe(200)
    await eventually(async () => {
      const d = await raw({ url: A }, 'GET', '/discover')
      return (d.body.agents as Array<{ agent_id: string }>).some((x) => x.agent_id === 'b1')
        ? true
        : undefined
    })
    const del = await post(A, '/delegate', { from_agent: 'a1', to_agent: 'b1', task: V1_TASK })
    expect(del.status).toBe(200)
    const taskId = del.body.message_id as string
    const polled: Array<Record<string, unknown>> = []
    const task = await eventually(async () => {
      polled.push(...((await raw({ url: B }, 'GET', '/poll/b1')).body.messages as typeof polled))
      return polled.find((m) => m.message_id === taskId && m.type === 'task_delegation')
    })
    expect(task.task).toBe(V1_TASK)
    expect(
      (await post(B, '/respond', { from_agent: 'b1', message_id: taskId, result: V1_RESULT })).status,
    ).toBe(200)
    const answers: Array<Record<string, unknown>> = []
    const answer = await eventually(async () => {
      answers.push(...((await raw({ url: A }, 'GET', '/poll/a1')).body.messages as typeof answers))
      return answers.find((m) => m.message_id === taskId && m.type === 'task_response')
    })
    expect(answer.result).toBe(V1_RESULT)

    const bad = await raw({ url: A }, 'POST', '/delegate', INVALID_UTF8)
    expect(bad).toEqual({ status: 400, body: { error: 'request body is not valid UTF-8' } })
    const lone = await raw(
      { url: A },
      'POST',
      '/delegate',
      '{"from_agent":"a1","to_agent":"b1","task":"ok","context":{"k":"\\ud83d"}}',
    )
    expect(lone).toEqual({
      status: 400,
      body: { error: 'context.k is not valid Unicode (a lone surrogate)' },
    })
  }, 60_000)
})
