// The ClawLink v1 HTTP API end to end: two real `clawlink node --v1-api` processes, driven by a v1
// client written from the v1 description (plain fetch, snake_case JSON), as an unchanged v1 agent would.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventJson } from '../../src/api/types.js'
import { encodeKeyFile, generateKey } from '../../src/home/mesh-key.js'
import { cli, cliJson, eventually, type NodeProcess, spawnNode } from '../helpers/cli.js'

// biome-ignore lint/suspicious/noExplicitAny: v1 JSON is read loosely, as a v1 client reads it
type Json = any

interface Reply {
  status: number
  body: Record<string, Json>
}

/** A v1 client: what the Python skill's client did, over fetch. */
class V1Client {
  constructor(
    readonly base: string,
    private readonly token?: string,
  ) {}

  private async call(method: string, path: string, body?: unknown, raw?: string): Promise<Reply> {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (this.token != null) headers.authorization = `Bearer ${this.token}`
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers,
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    })
    return { status: res.status, body: (await res.json()) as Record<string, Json> }
  }

  get(path: string): Promise<Reply> {
    return this.call('GET', path)
  }

  post(path: string, body: unknown): Promise<Reply> {
    return this.call('POST', path, body)
  }

  postRaw(path: string, raw: string): Promise<Reply> {
    return this.call('POST', path, undefined, raw)
  }

  register(agentId: string, name: string, capabilities: string[] = []) {
    return this.post('/register', {
      agent_id: agentId,
      name,
      capabilities,
      machine: 'test-host',
      description: `${name} for tests`,
    })
  }

  async poll(agentId: string): Promise<Array<Record<string, Json>>> {
    const r = await this.get(`/poll/${agentId}`)
    expect(r.status).toBe(200)
    expect(r.body.count).toBe(r.body.messages.length)
    return r.body.messages
  }

  /** Polls until a message matching `pick` arrives; returns it and everything polled with it. */
  async pollFor(agentId: string, pick: (m: Record<string, Json>) => boolean, timeout = 15_000) {
    const seen: Array<Record<string, Json>> = []
    const found = await eventually(async () => {
      seen.push(...(await this.poll(agentId)))
      return seen.find(pick)
    }, timeout)
    return { found, seen }
  }
}

const TOKEN = 'v1-secret-token'

describe('v1 HTTP API over two nodes', () => {
  const homes: string[] = []
  const procs: NodeProcess[] = []
  let envA: NodeJS.ProcessEnv
  let envB: NodeJS.ProcessEnv
  let a: NodeProcess
  let b: NodeProcess
  let A: V1Client
  let B: V1Client
  const listen = ['--listen', '/ip4/127.0.0.1/tcp/0']

  const v1Url = (p: NodeProcess) => {
    const e = p.events.find((x) => x.event === 'v1_api_listening')
    if (e == null) throw new Error('no v1_api_listening event')
    return e.url as string
  }
  const startB = async () => {
    b = await spawnNode(['--name', 'nodeb', ...listen, '--v1-api', '127.0.0.1:0', '--v1-token', TOKEN], envB)
    procs.push(b)
    B = new V1Client(v1Url(b), TOKEN)
  }

  beforeAll(async () => {
    const key = encodeKeyFile(generateKey())
    const tag = `_cl-${randomBytes(4).toString('hex')}._udp.local`
    const env = () => {
      const home = mkdtempSync(join(tmpdir(), 'clawlink-v1-'))
      homes.push(home)
      return { CLAWLINK_HOME: home, CLAWLINK_KEY: key, CLAWLINK_MDNS_TAG: tag }
    }
    envA = env()
    envB = env()
    ;[a] = await Promise.all([
      spawnNode(['--name', 'nodea', ...listen, '--v1-api', '127.0.0.1:0'], envA),
      startB(),
    ])
    procs.push(a)
    A = new V1Client(v1Url(a))
  }, 40_000)

  afterAll(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true })
  })

  it('serves info and enforces the bearer token', async () => {
    const info = await A.get('/')
    expect(info.status).toBe(200)
    expect(info.body).toMatchObject({ service: 'ClawLink', auth_required: false })
    expect(Object.values(info.body.endpoints)).toContain('POST /delegate')
    expect(typeof info.body.agents_online).toBe('number')
    expect(typeof info.body.shared_files).toBe('number')
    expect((await B.get('/')).body.auth_required).toBe(true)

    const anonymous = new V1Client(B.base)
    const wrong = new V1Client(B.base, 'not-the-token')
    for (const c of [anonymous, wrong]) {
      const r = await c.register('intruder', 'Intruder')
      expect(r.status).toBe(401)
      expect(typeof r.body.error).toBe('string')
      expect((await c.get('/discover')).status).toBe(401)
      expect((await c.get('/')).status).toBe(401)
      expect((await c.get('/poll/intruder')).status).toBe(401)
    }
    // nothing was registered by the refused calls
    expect((await B.get('/discover')).body.agents.some((x: Json) => x.agent_id === 'intruder')).toBe(false)
  })

  it('refuses malformed JSON, missing fields and unknown routes with clear errors', async () => {
    const bad = await A.postRaw('/register', '{"agent_id": ')
    expect(bad.status).toBe(400)
    expect(bad.body.error).toMatch(/malformed JSON/)
    const missing = await A.post('/register', { name: 'No Id' })
    expect(missing.status).toBe(400)
    expect(missing.body.error).toMatch(/agent_id is required/)
    expect((await A.post('/register', ['a'])).status).toBe(400)
    expect((await A.post('/register', { agent_id: 'x y', name: 'n' })).body.error).toMatch(/agent_id/)
    const noTask = await A.post('/delegate', { from_agent: 'x', to_agent: 'y' })
    expect(noTask.status).toBe(400)
    expect(noTask.body.error).toMatch(/task is required/)
    expect(
      (await A.post('/delegate', { from_agent: 'x', to_agent: 'y', task: 't', priority: 'asap' })).status,
    ).toBe(400)
    expect((await A.post('/broadcast', { from_agent: 'x' })).body.error).toMatch(/content is required/)
    expect((await A.post('/files', { file_key: 'k', agent_id: 'x' })).body.error).toMatch(/content/)
    expect((await A.post('/heartbeat', {})).status).toBe(400)
    const unknown = await A.get('/nothing-here')
    expect(unknown.status).toBe(404)
    expect(unknown.body.error).toBeDefined()
    expect((await A.get('/register')).status).toBe(405)
    const missingFile = await A.get('/files/no/such/file.md')
    expect(missingFile).toEqual({ status: 404, body: { error: 'file not found' } })
    // an unregistered sender cannot delegate: its answers would have nowhere to go
    const ghost = await A.post('/delegate', { from_agent: 'ghost', to_agent: 'nodeb', task: 'x' })
    expect(ghost.status).toBe(404)
    expect(ghost.body.error).toMatch(/register/)
    // as v1: polling an unknown agent is an empty answer with a hint, not an error
    expect(await A.get('/poll/ghost')).toMatchObject({ status: 200, body: { messages: [], count: 0 } })
  })

  it('registers, discovers, delegates, responds, broadcasts and shares files across nodes', async () => {
    const reg = await A.register('alice01', 'Alice', ['research'])
    expect(reg.status).toBe(200)
    expect(reg.body).toMatchObject({
      status: 'registered',
      agent: { agent_id: 'alice01', name: 'Alice', capabilities: ['research'], machine: 'test-host' },
    })
    expect((await B.register('bob01', 'Bob', ['code'])).body.status).toBe('registered')
    expect((await A.post('/heartbeat', { agent_id: 'alice01' })).body).toMatchObject({ status: 'ok' })
    expect((await A.post('/heartbeat', { agent_id: 'nobody' })).body).toMatchObject({
      status: 'unknown_agent',
    })

    // each side finds the other's v1 agent (carried in the node's presence card) and the other node
    const bobSeen = await eventually(async () => {
      const d = (await A.get('/discover')).body
      expect(d.count).toBe(d.agents.length)
      return d.agents.find((x: Json) => x.agent_id === 'bob01')
    })
    expect(bobSeen).toMatchObject({
      name: 'Bob',
      capabilities: ['code'],
      machine: 'test-host',
      description: 'Bob for tests',
      status: 'online',
    })
    expect(bobSeen.last_heartbeat * 1000).toBeGreaterThan(Date.now() - 60_000)
    const d = (await A.get('/discover')).body
    expect(d.agents.find((x: Json) => x.agent_id === 'alice01')).toMatchObject({ status: 'online' })
    expect(d.agents.find((x: Json) => x.agent_id === b.peerId)).toMatchObject({
      name: 'nodeb',
      status: 'online',
    })
    await eventually(async () =>
      (await B.get('/discover')).body.agents.find(
        (x: Json) => x.agent_id === 'alice01' && x.status === 'online',
      ),
    )

    // delegate A -> B through the mesh
    const del = await A.post('/delegate', {
      from_agent: 'alice01',
      to_agent: 'bob01',
      task: 'review the parser',
      context: { file: 'src/parser.ts', lines: [1, 2] },
      priority: 'high',
    })
    expect(del.status).toBe(200)
    expect(del.body).toMatchObject({ status: 'delegated', route: { route: 'mesh', peer: b.peerId } })
    const taskId = del.body.message_id as string
    const { found: task, seen } = await B.pollFor('bob01', (m) => m.type === 'task_delegation')
    expect(task).toMatchObject({
      message_id: taskId,
      from_agent: 'alice01',
      to_agent: 'bob01',
      task: 'review the parser',
      context: { file: 'src/parser.ts', lines: [1, 2] },
      priority: 'high',
    })
    expect(Date.parse(task.timestamp)).toBeGreaterThan(0)
    expect(seen.filter((m) => m.message_id === taskId)).toHaveLength(1)
    // polling hands each message out once
    expect((await B.poll('bob01')).filter((m) => m.message_id === taskId)).toEqual([])
    // one consumer: the task went to the v1 agent, not to the node's own inbox
    const inbox = await cliJson<EventJson[]>(['poll', '--peek'], envB)
    expect(inbox.some((e) => e.id === del.body.task_id)).toBe(false)

    // respond on B, the answer reaches alice01 on A
    const resp = await B.post('/respond', {
      from_agent: 'bob01',
      to_agent: 'alice01',
      message_id: taskId,
      result: 'looks good',
      status: 'completed',
    })
    expect(resp.status).toBe(200)
    expect(resp.body.message_id).toBe(taskId)
    const { found: answer } = await A.pollFor('alice01', (m) => m.type === 'task_response')
    expect(answer).toMatchObject({
      message_id: taskId,
      from_agent: 'bob01',
      result: 'looks good',
      status: 'completed',
    })
    // answering twice is refused: the task is final
    const twice = await B.post('/respond', { from_agent: 'bob01', message_id: taskId, result: 'again' })
    expect(twice.status).toBe(409)
    // only the agent a task is for may answer it: for anyone else nothing is sent (200, as v1 answered)
    expect(
      (await A.post('/respond', { from_agent: 'alice01', message_id: taskId, result: 'x' })).body.status,
    ).toBe('unknown_message')

    // broadcast from B reaches A's v1 agent, with its v1 author
    const bc = await B.post('/broadcast', {
      from_agent: 'bob01',
      content: 'the parser is fixed',
      topic: 'status',
      tags: ['parser', 'done'],
    })
    expect(bc.body.status).toBe('broadcast_sent')
    const { found: news } = await A.pollFor('alice01', (m) => m.type === 'knowledge_broadcast')
    expect(news).toEqual(
      expect.objectContaining({
        message_id: bc.body.message_id,
        from_agent: 'bob01',
        content: 'the parser is fixed',
        topic: 'status',
        tags: ['parser', 'done'],
      }),
    )
    // a broadcast is not echoed to its own author
    expect((await B.poll('bob01')).some((m) => m.type === 'knowledge_broadcast')).toBe(false)

    // shared files, replicated through the mesh's file map
    const put = await A.post('/files', {
      file_key: 'plans/q3.md',
      content: '# Q3\nship v2 ✓',
      agent_id: 'alice01',
      file_type: 'markdown',
    })
    expect(put.body).toMatchObject({ status: 'saved', version: 1 })
    const remote = await eventually(async () => {
      const r = await B.get('/files/plans/q3.md')
      return r.status === 200 ? r.body : undefined
    })
    expect(remote).toMatchObject({
      file_key: 'plans/q3.md',
      content: '# Q3\nship v2 ✓',
      version: 1,
      last_editor: 'alice01',
      file_type: 'markdown',
    })
    const { found: updated } = await B.pollFor('bob01', (m) => m.type === 'file_updated')
    expect(updated).toMatchObject({ file_key: 'plans/q3.md', version: 1, last_editor: 'alice01' })
    const put2 = await B.post('/files', { file_key: 'plans/q3.md', content: 'v2', agent_id: 'bob01' })
    expect(put2.body).toMatchObject({ status: 'saved', version: 2 })
    await eventually(async () => {
      const r = await A.get('/files/plans/q3.md')
      return r.body.version === 2 && r.body.content === 'v2' && r.body.last_editor === 'bob01'
        ? true
        : undefined
    })
    const list = (await A.get('/files')).body
    expect(list.count).toBe(list.files.length)
    expect(list.files.find((f: Json) => f.file_key === 'plans/q3.md')).toMatchObject({ version: 2 })
    expect(list.files[0].content).toBeUndefined()
    expect((await A.get('/')).body.shared_files).toBeGreaterThanOrEqual(1)
  }, 40_000)

  it('delegates between two v1 agents of one node', async () => {
    await A.register('carol01', 'Carol')
    const del = await A.post('/delegate', { from_agent: 'alice01', to_agent: 'carol01', task: 'local job' })
    expect(del.body).toMatchObject({ status: 'delegated', delivery: 'delivered', route: { route: 'local' } })
    const [task] = (await A.poll('carol01')).filter((m) => m.type === 'task_delegation')
    expect(task).toMatchObject({ message_id: del.body.message_id, from_agent: 'alice01', task: 'local job' })
    // only carol may answer
    expect(
      (await A.post('/respond', { from_agent: 'alice01', message_id: del.body.message_id, result: 'x' }))
        .status,
    ).toBe(403)
    await A.post('/respond', {
      from_agent: 'carol01',
      message_id: del.body.message_id,
      result: 'ok',
      status: 'failed',
    })
    const answers = (await A.poll('alice01')).filter((m) => m.type === 'task_response')
    expect(answers).toEqual([
      expect.objectContaining({
        message_id: del.body.message_id,
        from_agent: 'carol01',
        result: 'ok',
        status: 'failed',
      }),
    ])
  })

  it('keeps registered agents and undelivered messages across a restart', async () => {
    // one task waits in bob's queue when B stops; another is sent while B is down
    const first = await A.post('/delegate', {
      from_agent: 'alice01',
      to_agent: 'bob01',
      task: 'before restart',
    })
    await eventually(async () => {
      const tasks = await cliJson<Array<{ id: string; state: string }>>(['tasks'], envA)
      return tasks.find((t) => t.id === first.body.task_id && t.state === 'delivered')
    })
    expect(await b.stop('SIGTERM')).toBe(0)
    const second = await A.post('/delegate', { from_agent: 'alice01', to_agent: 'bob01', task: 'while down' })
    expect(second.status).toBe(200)
    expect(second.body).toMatchObject({ delivery: 'queued', route: { state: 'submitted' } })

    await startB()
    const agents = (await B.get('/discover')).body.agents
    expect(agents.find((x: Json) => x.agent_id === 'bob01')).toMatchObject({
      name: 'Bob',
      capabilities: ['code'],
    })
    const got: Array<Record<string, Json>> = []
    await eventually(async () => {
      got.push(...(await B.poll('bob01')))
      return got.some((m) => m.message_id === second.body.message_id) ? true : undefined
    }, 20_000)
    const tasks = got.filter((m) => m.type === 'task_delegation').map((m) => m.task)
    expect(tasks.sort()).toEqual(['before restart', 'while down'])
  }, 40_000)

  it('refuses a non-loopback --v1-api without a token', async () => {
    const home = mkdtempSync(join(tmpdir(), 'clawlink-v1-'))
    homes.push(home)
    const r = await cli(['node', '--name', 'exposed', '--open', '--no-mdns', '--v1-api', '0.0.0.0:9'], {
      CLAWLINK_HOME: home,
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--v1-token or CLAWLINK_V1_TOKEN/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})
