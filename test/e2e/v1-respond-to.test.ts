// /respond's to_agent, as v1 honoured it (issue 16): raw v1 HTTP over two real
// `clawlink node --v1-api` processes. The delegator always gets the answer; another v1 agent named
// in to_agent (on the same node or a peer's) gets it too, as a task_response with the task's
// message_id; an unknown one is answered 200 with a hint.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeKeyFile, generateKey } from '../../src/home/mesh-key.js'
import { cliJson, eventually, type NodeProcess, spawnNode } from '../helpers/cli.js'

// biome-ignore lint/suspicious/noExplicitAny: v1 JSON is read loosely, as a v1 client reads it
type Json = any

const HEX12 = /^[0-9a-f]{12}$/

class V1 {
  private readonly seen: Json[] = []
  constructor(readonly base: string) {}

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: res.status, body: await res.json() }
  }

  post = (path: string, body: unknown) => this.call('POST', path, body)

  register(agentId: string) {
    return this.post('/register', { agent_id: agentId, name: agentId, capabilities: [], machine: agentId })
  }

  /** Polls `agentId` until a message matching `pick` arrives (others polled meanwhile are kept). */
  async pollFor(agentId: string, pick: (m: Json) => boolean, timeout = 20_000): Promise<Json> {
    return eventually(async () => {
      const r = await this.call('GET', `/poll/${agentId}`)
      this.seen.push(...r.body.messages.map((m: Json) => ({ ...m, _to: agentId })))
      const at = this.seen.findIndex((m) => m._to === agentId && pick(m))
      return at < 0 ? undefined : this.seen.splice(at, 1)[0]
    }, timeout)
  }

  /** Everything `agentId` has been handed so far (after one more poll). */
  async all(agentId: string): Promise<Json[]> {
    const r = await this.call('GET', `/poll/${agentId}`)
    this.seen.push(...r.body.messages.map((m: Json) => ({ ...m, _to: agentId })))
    return this.seen.filter((m) => m._to === agentId)
  }
}

describe('v1 /respond to_agent (two nodes)', () => {
  const homes: string[] = []
  const procs: NodeProcess[] = []
  let A: V1
  let B: V1
  let envA: Record<string, string>

  beforeAll(async () => {
    const key = encodeKeyFile(generateKey())
    const tag = `_cl-${randomBytes(4).toString('hex')}._udp.local`
    const env = () => {
      const home = mkdtempSync(join(tmpdir(), 'clawlink-v1to-'))
      homes.push(home)
      return { CLAWLINK_HOME: home, CLAWLINK_KEY: key, CLAWLINK_MDNS_TAG: tag }
    }
    const listen = ['--listen', '/ip4/127.0.0.1/tcp/0', '--v1-api', '127.0.0.1:0']
    envA = env()
    const [pa, pb] = await Promise.all([
      spawnNode(['--name', 'toa', ...listen], envA),
      spawnNode(['--name', 'tob', ...listen], env()),
    ])
    procs.push(pa, pb)
    const url = (p: NodeProcess) => p.events.find((x) => x.event === 'v1_api_listening')!.url as string
    A = new V1(url(pa))
    B = new V1(url(pb))
    for (const id of ['xdeleg', 'yresp', 'wother']) expect((await A.register(id)).status).toBe(200)
    expect((await B.register('zpeer')).status).toBe(200)
    // each node lists the other's v1 agents (they travel on the presence card)
    await eventually(async () =>
      (await A.call('GET', '/discover')).body.agents.some((x: Json) => x.agent_id === 'zpeer')
        ? true
        : undefined,
    )
    await eventually(async () =>
      (await B.call('GET', '/discover')).body.agents.some((x: Json) => x.agent_id === 'yresp')
        ? true
        : undefined,
    )
  }, 40_000)

  afterAll(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true })
  })

  /** xdeleg (node A) delegates to yresp (node A); yresp gets the task. */
  async function localTask(task: string): Promise<string> {
    const d = await A.post('/delegate', { from_agent: 'xdeleg', to_agent: 'yresp', task })
    expect(d.status).toBe(200)
    await A.pollFor('yresp', (m) => m.type === 'task_delegation' && m.task === task)
    return d.body.message_id
  }

  it('a response to another v1 agent of the same node reaches it, and the delegator still gets it', async () => {
    const id = await localTask('local to w')
    const r = await A.post('/respond', {
      from_agent: 'yresp',
      to_agent: 'wother',
      message_id: id,
      result: 'for w',
      status: 'completed',
    })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ status: 'response_sent', message_id: id, copied_to: 'wother' })
    const w = await A.pollFor('wother', (m) => m.type === 'task_response')
    expect(w).toMatchObject({
      message_id: id,
      from_agent: 'yresp',
      to_agent: 'wother',
      result: 'for w',
      status: 'completed',
    })
    expect(w.message_id).toMatch(HEX12)
    const x = await A.pollFor('xdeleg', (m) => m.type === 'task_response' && m.message_id === id)
    expect(x).toMatchObject({ result: 'for w', status: 'completed', from_agent: 'yresp' })
    // the task is final for its delegator: a second answer is refused as before
    const again = await A.post('/respond', { from_agent: 'yresp', message_id: id, result: 'x' })
    expect(again.status).toBe(409)
  })

  it("a response to a peer's hosted agent reaches its poll as task_response; the delegator gets it too", async () => {
    const id = await localTask('local to z')
    const r = await A.post('/respond', {
      from_agent: 'yresp',
      to_agent: 'zpeer',
      message_id: id,
      result: 'for z',
      status: 'in_progress',
    })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ status: 'response_sent', copied_to: 'zpeer' })
    const z = await B.pollFor('zpeer', (m) => m.type === 'task_response')
    expect(z).toMatchObject({
      message_id: id,
      from_agent: 'yresp',
      to_agent: 'zpeer',
      result: 'for z',
      status: 'in_progress',
    })
    const x = await A.pollFor('xdeleg', (m) => m.type === 'task_response' && m.message_id === id)
    expect(x).toMatchObject({ result: 'for z', status: 'in_progress' })
    // the carrier (a mesh task from node A to zpeer) is completed by node B once it has stored the copy
    await eventually(async () => {
      const tasks = await cliJson<Json[]>(['tasks', '--json'], envA)
      const carrier = tasks.find((t) => t.context?.v1_response_copy?.message_id === id)
      return carrier?.state === 'completed' ? true : undefined
    })
    // nothing else reached zpeer (no delegation) nor the responder (no receipt or completion)
    const zAll = await B.all('zpeer')
    expect(zAll.filter((m) => m.type !== 'task_response')).toEqual([])
    const yAll = await A.all('yresp')
    expect(yAll.filter((m) => m.type === 'task_response')).toEqual([])
  })

  it('a mesh task answered to another agent: the delegating peer agent and the named one both get it', async () => {
    const d = await B.post('/delegate', { from_agent: 'zpeer', to_agent: 'yresp', task: 'from z' })
    expect(d.status).toBe(200)
    const t = await A.pollFor('yresp', (m) => m.type === 'task_delegation' && m.task === 'from z')
    const r = await A.post('/respond', {
      from_agent: 'yresp',
      to_agent: 'wother',
      message_id: t.message_id,
      result: 'z and w',
    })
    expect(r.status).toBe(200)
    expect(r.body.copied_to).toBe('wother')
    const w = await A.pollFor('wother', (m) => m.type === 'task_response' && m.result === 'z and w')
    expect(w.message_id).toBe(t.message_id)
    const z = await B.pollFor('zpeer', (m) => m.type === 'task_response' && m.result === 'z and w')
    expect(z.message_id).toBe(d.body.message_id)
  })

  it("a crafted copy that names a task the recipient delegated is not taken as that task's answer", async () => {
    const d = await B.post('/delegate', { from_agent: 'zpeer', to_agent: 'yresp', task: 'mine' })
    const id = d.body.message_id
    await A.pollFor('yresp', (m) => m.type === 'task_delegation' && m.task === 'mine')
    // node A's own agent sends zpeer a mesh task shaped like a copy of an answer to zpeer's own task
    const mark = { message_id: id, task_id: d.body.task_id, response_id: 'aaaaaaaaaaaa', status: 'completed' }
    const forged = await cliJson<Json>(
      [
        'delegate',
        '--to',
        'zpeer',
        '--task',
        'forged answer',
        '--context',
        JSON.stringify({ v1_response_copy: mark }),
        '--json',
      ],
      envA,
    )
    expect(forged.id).toBeTruthy()
    const got = await B.pollFor('zpeer', (m) => m.task === 'forged answer' || m.result === 'forged answer')
    expect(got.type).toBe('task_delegation')
    expect(got.message_id).not.toBe(id)
  })

  it('an unknown to_agent is answered 200 with a hint, and the delegator still gets the response', async () => {
    const id = await localTask('to nobody')
    const r = await A.post('/respond', {
      from_agent: 'yresp',
      to_agent: 'nobody',
      message_id: id,
      result: 'kept',
    })
    expect(r.status).toBe(200)
    expect(r.body.status).toBe('response_sent')
    expect(r.body.hint).toMatch(/nobody.*delegator xdeleg/)
    const x = await A.pollFor('xdeleg', (m) => m.type === 'task_response' && m.message_id === id)
    expect(x.result).toBe('kept')
    // naming the delegator itself is the normal case: no copy, no hint
    const id2 = await localTask('to the delegator')
    const n = await A.post('/respond', {
      from_agent: 'yresp',
      to_agent: 'xdeleg',
      message_id: id2,
      result: 'ok',
    })
    expect(n.body).not.toHaveProperty('hint')
    expect(n.body).not.toHaveProperty('copied_to')
  })
})
