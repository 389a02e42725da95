// v1's WebSocket push end to end: two real `clawlink node --v1-api` processes, a v1 agent on each,
// the one on B listening on `GET /ws/{agent_id}` as a v1 client would (the `ws` library).
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { encodeKeyFile, generateKey } from '../../src/home/mesh-key.js'
import { eventually, type NodeProcess, spawnNode } from '../helpers/cli.js'

// biome-ignore lint/suspicious/noExplicitAny: v1 JSON is read loosely, as a v1 client reads it
type Json = any

const TOKEN = 'ws-secret-token'

async function call(base: string, method: string, path: string, body?: unknown, token?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (token != null) headers.authorization = `Bearer ${token}`
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Json }
}

/** A v1 client's socket: every frame it receives, parsed, until it closes. */
class Listener {
  readonly messages: Json[] = []
  readonly ws: WebSocket
  readonly opened: Promise<void>
  readonly closed: Promise<{ code: number; reason: string }>

  constructor(url: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(url, { headers })
    this.ws.on('message', (data) => this.messages.push(JSON.parse(String(data))))
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve())
      this.ws.once('error', reject)
    })
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
    )
  }

  of(id: string): Json[] {
    return this.messages.filter((m) => m.message_id === id)
  }

  wait(pick: (m: Json) => boolean, timeout = 15_000): Promise<Json> {
    return eventually(async () => this.messages.find(pick), timeout)
  }
}

/** Resolves with the HTTP status of a refused upgrade (never opens). */
function refusedStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0)
      res.resume()
      ws.terminate()
    })
    ws.on('open', () => reject(new Error('the upgrade was accepted')))
    ws.on('error', () => {})
  })
}

describe('v1 WebSocket push over two nodes', () => {
  const homes: string[] = []
  const procs: NodeProcess[] = []
  let a: NodeProcess
  let b: NodeProcess
  let urlA: string
  let urlB: string
  const listen = ['--listen', '/ip4/127.0.0.1/tcp/0']
  const A = (method: string, path: string, body?: unknown) => call(urlA, method, path, body)
  const B = (method: string, path: string, body?: unknown) => call(urlB, method, path, body, TOKEN)
  const wsB = (agent: string) => `${urlB.replace(/^http/, 'ws')}/ws/${agent}`
  const auth = { authorization: `Bearer ${TOKEN}` }
  const sockets: Listener[] = []
  const open = async (agent: string) => {
    const l = new Listener(wsB(agent), auth)
    sockets.push(l)
    await l.opened
    return l
  }
  const seenOnB = (event: string, field: string, id: string) =>
    eventually(async () => b.events.find((e) => e.event === event && e[field] === id))

  beforeAll(async () => {
    const key = encodeKeyFile(generateKey())
    const tag = `_cl-${randomBytes(4).toString('hex')}._udp.local`
    const env = () => {
      const home = mkdtempSync(join(tmpdir(), 'clawlink-v1ws-'))
      homes.push(home)
      return { CLAWLINK_HOME: home, CLAWLINK_KEY: key, CLAWLINK_MDNS_TAG: tag }
    }
    ;[a, b] = await Promise.all([
      spawnNode(['--name', 'wsa', ...listen, '--v1-api', '127.0.0.1:0'], env()),
      spawnNode(['--name', 'wsb', ...listen, '--v1-api', '127.0.0.1:0', '--v1-token', TOKEN], env()),
    ])
    procs.push(a, b)
    const url = (p: NodeProcess) => p.events.find((x) => x.event === 'v1_api_listening')!.url as string
    urlA = url(a)
    urlB = url(b)
    await A('POST', '/register', { agent_id: 'alice', name: 'Alice', capabilities: [], machine: 'h' })
    await B('POST', '/register', { agent_id: 'bob', name: 'Bob', capabilities: [], machine: 'h' })
    // each node knows the other's v1 agent
    await eventually(async () =>
      (await A('GET', '/discover')).body.agents.find((x: Json) => x.agent_id === 'bob'),
    )
    await eventually(async () =>
      (await B('GET', '/discover')).body.agents.find((x: Json) => x.agent_id === 'alice'),
    )
  }, 60_000)

  afterAll(async () => {
    for (const s of sockets) s.ws.terminate()
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true })
  })

  it('pushes a task, a response, a broadcast and a file update exactly once; poll does not hand them out again', async () => {
    const bob = await open('bob')
    // a task from alice on A
    const task = (await A('POST', '/delegate', { from_agent: 'alice', to_agent: 'bob', task: 'review' })).body
    const pushed = await bob.wait((m) => m.message_id === task.message_id)
    expect(pushed).toMatchObject({
      type: 'task_delegation',
      from_agent: 'alice',
      to_agent: 'bob',
      task: 'review',
    })
    expect(Date.parse(pushed.timestamp)).toBeGreaterThan(0)
    // a response: bob delegates to alice, alice answers over HTTP
    const ask = (await B('POST', '/delegate', { from_agent: 'bob', to_agent: 'alice', task: 'sum 2 2' })).body
    await eventually(async () =>
      (await A('GET', '/poll/alice')).body.messages.find((m: Json) => m.message_id === ask.message_id),
    )
    const answer = { from_agent: 'alice', message_id: ask.message_id, result: '4', status: 'completed' }
    expect((await A('POST', '/respond', answer)).status).toBe(200)
    const response = await bob.wait((m) => m.type === 'task_response' && m.message_id === ask.message_id)
    expect(response).toMatchObject({ from_agent: 'alice', result: '4', status: 'completed' })
    // a broadcast and a file update
    const bc = (
      await A('POST', '/broadcast', { from_agent: 'alice', content: 'news', topic: 't', tags: ['x'] })
    ).body
    const news = await bob.wait((m) => m.message_id === bc.message_id)
    expect(news).toMatchObject({
      type: 'knowledge_broadcast',
      from_agent: 'alice',
      content: 'news',
      tags: ['x'],
    })
    await A('POST', '/files', {
      file_key: 'ws/plan.md',
      content: 'v1',
      agent_id: 'alice',
      file_type: 'markdown',
    })
    const file = await bob.wait((m) => m.type === 'file_updated' && m.file_key === 'ws/plan.md')
    expect(file).toMatchObject({ version: 1, last_editor: 'alice' })

    // a last broadcast as a marker: everything before it has been pushed by now
    const mark = (await A('POST', '/broadcast', { from_agent: 'alice', content: 'marker' })).body
    await bob.wait((m) => m.message_id === mark.message_id)
    for (const id of [task.message_id, ask.message_id, bc.message_id]) expect(bob.of(id)).toHaveLength(1)
    expect(bob.messages.filter((m) => m.type === 'file_updated' && m.file_key === 'ws/plan.md')).toHaveLength(
      1,
    )
    // pushed means handed out: poll has none of it
    const polled = await B('GET', '/poll/bob')
    expect(polled.status).toBe(200)
    expect(polled.body.messages).toEqual([])

    // agent_joined: an agent registered on this node, and one first listed on the other node's card
    await B('POST', '/register', { agent_id: 'dave', name: 'Dave', capabilities: ['ops'], machine: 'h' })
    await A('POST', '/register', { agent_id: 'carol', name: 'Carol', capabilities: [], machine: 'h' })
    const dave = await bob.wait((m) => m.type === 'agent_joined' && m.agent_id === 'dave')
    expect(dave).toMatchObject({
      name: 'Dave',
      agent: { agent_id: 'dave', capabilities: ['ops'], node: b.peerId },
    })
    const carol = await bob.wait((m) => m.type === 'agent_joined' && m.agent_id === 'carol')
    expect(carol).toMatchObject({ name: 'Carol', agent: { agent_id: 'carol', node: a.peerId } })
    bob.ws.close()
    await bob.closed
  }, 60_000)

  it('a socket closed mid-stream and reconnected gets everything that arrived meanwhile, in order, once', async () => {
    const first = await open('bob')
    const ids: string[] = []
    // the first socket closes as soon as the first of five tasks reaches it
    first.ws.once('message', () => first.ws.close())
    for (let i = 0; i < 5; i++)
      ids.push(
        (await A('POST', '/delegate', { from_agent: 'alice', to_agent: 'bob', task: `job ${i}` })).body
          .message_id,
      )
    await first.closed
    // while no socket is open: two more tasks and a broadcast reach B's store
    for (let i = 5; i < 7; i++) {
      const { body } = await A('POST', '/delegate', {
        from_agent: 'alice',
        to_agent: 'bob',
        task: `job ${i}`,
      })
      ids.push(body.message_id)
      // the node's log names the task by its full id (v1's message_id is its short form)
      await seenOnB('task_received', 'task', body.task_id)
    }
    const bc = (await A('POST', '/broadcast', { from_agent: 'alice', content: 'while away' })).body
    await seenOnB('broadcast_received', 'id', bc.message_id)

    const second = await open('bob')
    await second.wait((m) => m.message_id === bc.message_id)
    const all = () => [...first.messages, ...second.messages]
    await eventually(async () =>
      ids.every((id) => all().some((m) => m.message_id === id)) ? true : undefined,
    )
    const got = all().filter((m) => m.type === 'task_delegation')
    // every task exactly once, in the order it was queued
    expect(got.map((m) => m.message_id)).toEqual(ids)
    expect(second.of(bc.message_id)).toHaveLength(1)
    expect((await B('GET', '/poll/bob')).body.messages).toEqual([])
    second.ws.close()
    await second.closed
  }, 60_000)

  it('refuses an upgrade with a bad token (401) or for an unknown agent (404), and keeps serving', async () => {
    expect(await refusedStatus(wsB('bob'))).toBe(401)
    expect(await refusedStatus(wsB('bob'), { authorization: 'Bearer wrong' })).toBe(401)
    expect(await refusedStatus(`${wsB('bob')}?token=wrong`)).toBe(401)
    expect(await refusedStatus(wsB('nobody'), auth)).toBe(404)
    expect(await refusedStatus(wsB('bad%zz'), auth)).toBe(400)
    expect(await refusedStatus(`${urlB.replace(/^http/, 'ws')}/poll/bob`, auth)).toBe(404)
    // ?token= is accepted as v1 accepts it
    const viaQuery = new Listener(`${wsB('bob')}?token=${TOKEN}`)
    sockets.push(viaQuery)
    await viaQuery.opened
    viaQuery.ws.close()
    await viaQuery.closed
    // the node is still up and answers
    expect((await B('GET', '/discover')).status).toBe(200)
    expect(b.events.some((e) => e.event === 'v1_api_error')).toBe(false)
  }, 30_000)

  it('a fifth socket for one agent closes the oldest with a clear code and reason', async () => {
    const four = []
    for (let i = 0; i < 4; i++) four.push(await open('bob'))
    const fifth = await open('bob')
    const gone = await four[0]!.closed
    expect(gone.code).toBe(4001)
    expect(gone.reason).toMatch(/at most 4 sockets per agent/)
    for (const s of [...four.slice(1), fifth]) expect(s.ws.readyState).toBe(WebSocket.OPEN)
    // a client frame is answered with an error, not acted on
    fifth.ws.send('{"type":"respond"}')
    const err = await fifth.wait((m) => m.type === 'error')
    expect(err.error).toMatch(/only pushes/)
    for (const s of [...four.slice(1), fifth]) s.ws.close()
  }, 30_000)

  it('deregistering an agent closes its sockets', async () => {
    await B('POST', '/register', { agent_id: 'erin', name: 'Erin', capabilities: [], machine: 'h' })
    const s = await open('erin')
    expect((await B('DELETE', '/agents/erin')).status).toBe(200)
    expect((await s.closed).code).toBe(4004)
  }, 30_000)

  it('a node that stops closes its open sockets (1001) and exits cleanly', async () => {
    const open1 = await open('bob')
    const code = await b.stop('SIGTERM')
    expect(code).toBe(0)
    expect((await open1.closed).code).toBe(1001)
  }, 30_000)
})
