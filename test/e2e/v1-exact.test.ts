// v1 clients notice nothing (issue 16, "v1's replies, exactly"): a v1-shaped client written from v1's
// protocol reference (raw HTTP JSON over fetch) drives two real `clawlink node --v1-api` processes
// and checks the names, types and formats v1 clients parse.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeKeyFile, generateKey } from '../../src/home/mesh-key.js'
import { BIN, eventually, type NodeProcess, spawnNode } from '../helpers/cli.js'

// biome-ignore lint/suspicious/noExplicitAny: v1 JSON is read loosely, as a v1 client reads it
type Json = any

const HEX12 = /^[0-9a-f]{12}$/
/** v1 times: epoch seconds as a float, close to now. */
const nowSecs = () => Date.now() / 1000
function epochSeconds(v: unknown): void {
  expect(typeof v).toBe('number')
  expect(Math.abs((v as number) - nowSecs())).toBeLessThan(120)
}

/** The v1 client: bearer token in a header, or `?token=` as v1 also took. */
class V1 {
  constructor(
    readonly base: string,
    private readonly token?: string,
    private readonly inQuery = false,
  ) {}

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    let url = `${this.base}${path}`
    if (this.token != null && this.inQuery) url += `${path.includes('?') ? '&' : '?'}token=${this.token}`
    else if (this.token != null) headers.authorization = `Bearer ${this.token}`
    const res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: res.status, body: await res.json() }
  }

  get = (path: string) => this.call('GET', path)
  post = (path: string, body: unknown) => this.call('POST', path, body)

  register(agentId: string, name: string, machine = 'exact-host') {
    return this.post('/register', {
      agent_id: agentId,
      name,
      capabilities: ['x'],
      machine,
      description: name,
    })
  }

  async pollAll(agentId: string, until: (all: Json[]) => boolean, timeout = 15_000): Promise<Json[]> {
    const all: Json[] = []
    await eventually(async () => {
      const r = await this.get(`/poll/${agentId}`)
      expect(r.status).toBe(200)
      all.push(...r.body.messages)
      return until(all) ? true : undefined
    }, timeout)
    return all
  }
}

describe('v1 replies, exactly (two nodes)', () => {
  const homes: string[] = []
  const procs: NodeProcess[] = []
  let a: NodeProcess
  let A: V1
  let B: V1
  const TOKEN_A = `v1tok-${randomBytes(6).toString('hex')}`

  const v1Event = (p: NodeProcess) => p.events.find((x) => x.event === 'v1_api_listening')!

  beforeAll(async () => {
    const key = encodeKeyFile(generateKey())
    const tag = `_cl-${randomBytes(4).toString('hex')}._udp.local`
    const env = (extra: Record<string, string> = {}) => {
      const home = mkdtempSync(join(tmpdir(), 'clawlink-v1x-'))
      homes.push(home)
      return { CLAWLINK_HOME: home, CLAWLINK_KEY: key, CLAWLINK_MDNS_TAG: tag, ...extra }
    }
    const listen = ['--listen', '/ip4/127.0.0.1/tcp/0', '--v1-api', '127.0.0.1:0']
    // A: v1's own CLAWLINK_TOKEN is set and no --v1-token: the v1 API must require it
    const [pa, pb] = await Promise.all([
      spawnNode(['--name', 'exacta', ...listen], env({ CLAWLINK_TOKEN: TOKEN_A })),
      spawnNode(['--name', 'exactb', ...listen], env()),
    ])
    a = pa
    procs.push(pa, pb)
    A = new V1(v1Event(pa).url as string, TOKEN_A)
    B = new V1(v1Event(pb).url as string)
    // the nodes see each other before the tests start
    await eventually(async () =>
      (await A.get('/discover')).body.agents?.some((x: Json) => x.kind === 'node') ? true : undefined,
    )
  }, 40_000)

  afterAll(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true })
  })

  it('(1) takes CLAWLINK_TOKEN as the bearer token when no --v1-token is given, also as ?token=', async () => {
    expect(v1Event(a)).toMatchObject({ auth: true, token_from: 'CLAWLINK_TOKEN' })
    const anonymous = new V1(A.base)
    expect((await anonymous.get('/')).status).toBe(401)
    expect((await anonymous.get('/discover')).status).toBe(401)
    expect((await new V1(A.base, 'wrong', true).get('/')).status).toBe(401)
    const query = new V1(A.base, TOKEN_A, true)
    expect((await query.get('/')).status).toBe(200)
    expect((await query.register('qtok1', 'QueryToken')).body.status).toBe('registered')
    expect((await A.get('/')).status).toBe(200)
  })

  it('(1) the human startup line says the v1 API takes its token from CLAWLINK_TOKEN', async () => {
    const home = mkdtempSync(join(tmpdir(), 'clawlink-v1x-'))
    homes.push(home)
    // v1's setup: only CLAWLINK_TOKEN (here also the mesh passphrase), no --v1-token
    const proc = spawn(
      process.execPath,
      [
        BIN,
        'node',
        '--name',
        'humanline',
        '--no-mdns',
        '--listen',
        '/ip4/127.0.0.1/tcp/0',
        '--v1-api',
        '127.0.0.1:0',
      ],
      {
        env: { PATH: process.env.PATH, CLAWLINK_HOME: home, CLAWLINK_TOKEN: TOKEN_A },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    )
    let stderr = ''
    try {
      const line = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no v1 line in 20 s: ${stderr}`)), 20_000)
        proc.stderr!.on('data', (d: Buffer) => {
          stderr += d.toString()
          const m = /^.*v1 HTTP API listening on .*$/m.exec(stderr)
          if (m != null) {
            clearTimeout(timer)
            resolve(m[0])
          }
        })
        proc.on('close', () => reject(new Error(`node exited: ${stderr}`)))
      })
      expect(line).toMatch(/\(bearer token required, from CLAWLINK_TOKEN\)/)
    } finally {
      proc.kill('SIGKILL')
    }
  }, 30_000)

  it('(3) GET / has v1 keys and types; register and heartbeat send epoch seconds and server_time', async () => {
    const info = (await A.get('/')).body
    expect(typeof info.service).toBe('string')
    expect(typeof info.version).toBe('string')
    expect(typeof info.endpoints).toBe('object')
    expect(Array.isArray(info.endpoints)).toBe(false)
    expect(Object.values(info.endpoints).every((v) => typeof v === 'string')).toBe(true)
    expect(Number.isInteger(info.agents_online)).toBe(true)
    expect(Number.isInteger(info.total_broadcasts)).toBe(true)

    const reg = (await A.register('alicex', 'AliceX')).body
    expect(reg.status).toBe('registered')
    epochSeconds(reg.server_time)
    epochSeconds(reg.agent.last_heartbeat)
    epochSeconds(reg.agent.registered_at)
    const hb = (await A.post('/heartbeat', { agent_id: 'alicex' })).body
    expect(hb.status).toBe('ok')
    epochSeconds(hb.server_time)
    const listed = (await A.get('/discover')).body.agents.find((x: Json) => x.agent_id === 'alicex')
    epochSeconds(listed.last_heartbeat)
    epochSeconds(listed.registered_at)

    // total_broadcasts counts them
    await B.register('bcast', 'Bcast')
    expect((await B.post('/broadcast', { from_agent: 'bcast', content: 'hello' })).body.status).toBe(
      'broadcast_sent',
    )
    await eventually(async () =>
      (await A.get('/')).body.total_broadcasts > info.total_broadcasts ? true : undefined,
    )
  })

  it('(2, 4) delegate answers delivery and a 12-hex message_id; any /respond status arrives unchanged', async () => {
    await A.register('alicex', 'AliceX')
    await B.register('bobx', 'BobX')
    await eventually(async () =>
      (await A.get('/discover')).body.agents.some((x: Json) => x.agent_id === 'bobx') ? true : undefined,
    )
    const del = (await A.post('/delegate', { from_agent: 'alicex', to_agent: 'bobx', task: 'count to 3' }))
      .body
    expect(del.status).toBe('delegated')
    expect(['queued', 'delivered']).toContain(del.delivery)
    expect(del.message_id).toMatch(HEX12)
    expect(typeof del.task_id).toBe('string')

    const [task] = (await B.pollAll('bobx', (all) => all.some((m) => m.type === 'task_delegation'))).filter(
      (m) => m.type === 'task_delegation',
    )
    expect(task.message_id).toBe(del.message_id)
    epochSeconds(task.queued_at)

    const statuses = ['in_progress', 'partial', 'completed']
    for (const [i, status] of statuses.entries()) {
      const r = await B.post('/respond', {
        from_agent: 'bobx',
        to_agent: 'alicex',
        message_id: task.message_id,
        result: `step ${i + 1}`,
        status,
      })
      expect(r.status).toBe(200)
      expect(r.body.status).toBe('response_sent')
      expect(typeof r.body.response_id).toBe('string')
      expect(r.body.response_id.length).toBeGreaterThan(0)
    }
    const answers = (
      await A.pollAll('alicex', (all) => all.filter((m) => m.type === 'task_response').length >= 3)
    ).filter((m) => m.type === 'task_response')
    expect(answers.map((m) => [m.status, m.result, m.message_id])).toEqual(
      statuses.map((s, i) => [s, `step ${i + 1}`, del.message_id]),
    )

    // between two agents of one node: delivered at once
    await A.register('carolx', 'CarolX')
    const local = (await A.post('/delegate', { from_agent: 'alicex', to_agent: 'carolx', task: 'local' }))
      .body
    expect(local).toMatchObject({ status: 'delegated', delivery: 'delivered' })
    expect(local.message_id).toMatch(HEX12)
    const r = await A.post('/respond', {
      from_agent: 'carolx',
      message_id: local.message_id,
      result: 'half',
      status: 'partial',
    })
    expect(r.body).toMatchObject({ status: 'response_sent' })
    expect(typeof r.body.response_id).toBe('string')
    const [answer] = (await A.pollAll('alicex', (all) => all.some((m) => m.type === 'task_response'))).filter(
      (m) => m.type === 'task_response',
    )
    expect(answer).toMatchObject({ message_id: local.message_id, status: 'partial', result: 'half' })
  }, 40_000)

  it('(5) poll hands messages out in the order queued, each with queued_at; remaining is extra', async () => {
    await A.register('senderx', 'SenderX')
    await A.register('queuex', 'QueueX')
    const ids: string[] = []
    for (let i = 0; i < 5; i++) {
      const d = await A.post('/delegate', { from_agent: 'senderx', to_agent: 'queuex', task: `job ${i}` })
      ids.push(d.body.message_id)
    }
    const r = (await A.get('/poll/queuex')).body
    expect(r.count).toBe(5)
    expect(r.remaining).toBe(0)
    expect(r.messages.map((m: Json) => m.message_id)).toEqual(ids)
    expect(r.messages.map((m: Json) => m.task)).toEqual([0, 1, 2, 3, 4].map((i) => `job ${i}`))
    const times = r.messages.map((m: Json) => m.queued_at)
    for (const t of times) epochSeconds(t)
    expect([...times].sort((x, y) => x - y)).toEqual(times)
  })

  it('(6) a poll counts as a heartbeat', async () => {
    const reg = (await A.register('pollerx', 'PollerX')).body
    const before = reg.agent.last_heartbeat as number
    await eventually(async () => {
      await A.get('/poll/pollerx')
      const me = (await A.get('/discover')).body.agents.find((x: Json) => x.agent_id === 'pollerx')
      return me.last_heartbeat > before ? true : undefined
    })
  })

  it('(7) unknown ids are answered 200 with a hint, as v1 did', async () => {
    const poll = await A.get('/poll/nobody-here')
    expect(poll.status).toBe(200)
    expect(poll.body).toMatchObject({ messages: [], count: 0 })
    expect(typeof poll.body.hint).toBe('string')
    const hb = await A.post('/heartbeat', { agent_id: 'nobody-here' })
    expect(hb).toMatchObject({ status: 200, body: { status: 'unknown_agent' } })
    expect(typeof hb.body.hint).toBe('string')
    await A.register('answerer', 'Answerer')
    const resp = await A.post('/respond', { from_agent: 'answerer', message_id: 'abcdef012345', result: 'r' })
    expect(resp.status).toBe(200)
    expect(typeof resp.body.hint).toBe('string')
    const del = await A.call('DELETE', '/agents/nobody-here')
    expect(del.status).toBe(200)
  })

  it('(8) re-registering a name replaces the older record, never fills the node, and DELETE deregisters', async () => {
    const ids: string[] = []
    // a v1 client makes a new random id at every start: 70 starts (over the 64-agent cap)
    for (let i = 0; i < 70; i++) {
      const id = randomBytes(4).toString('hex')
      ids.push(id)
      const r = await B.register(id, 'restarter', 'box-1')
      expect(r.status).toBe(200)
    }
    const listed = (await B.get('/discover')).body.agents.filter((x: Json) => x.name === 'restarter')
    expect(listed.map((x: Json) => x.agent_id)).toEqual([ids.at(-1)])
    // the same name from another machine is another agent
    expect((await B.register('otherbox', 'restarter', 'box-2')).body.replaced).toEqual([])

    const gone = await B.call('DELETE', `/agents/${ids.at(-1)}`)
    expect(gone).toMatchObject({ status: 200, body: { status: 'deregistered' } })
    const after = (await B.get('/discover')).body.agents.map((x: Json) => x.agent_id)
    expect(after).not.toContain(ids.at(-1))
    expect(after).toContain('otherbox')
  }, 30_000)
})
