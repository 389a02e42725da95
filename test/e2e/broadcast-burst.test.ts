// A burst of broadcasts reaches the other node whole (issue 16): the sender paces its own publishing
// under the mesh's per-author rate from a durable queue, a receiver that throttled pulls the rest within
// seconds, and a sender killed with broadcasts still queued sends them when it is back.
import { rmSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventJson, StatusJson } from '../../src/api/types.js'
import type { ControlClient } from '../../src/client/control-client.js'
import { dataDirPaths } from '../../src/home/paths.js'
import {
  type Agent,
  agentMesh,
  cli,
  cliJson,
  eventually,
  type NodeProcess,
  seesAll,
  spawnNode,
} from '../helpers/cli.js'

// biome-ignore lint/suspicious/noExplicitAny: v1 JSON is read loosely, as a v1 client reads it
type Json = any

const N = 200

async function v1(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Json }
}

const expected = (prefix: string) => Array.from({ length: N }, (_, i) => `${prefix} ${i}`)

describe('a burst of 200 broadcasts reaches the other node whole', () => {
  const dirs: string[] = []
  const procs: NodeProcess[] = []
  let a: Agent
  let b: Agent
  let pa: NodeProcess
  let pb: NodeProcess
  let A: ControlClient
  let B: ControlClient
  const v1Url = (p: NodeProcess) => p.events.find((x) => x.event === 'v1_api_listening')!.url as string
  const startA = async (peer?: string) => {
    pa = await spawnNode(
      [
        '--name',
        a.name,
        '--listen',
        '/ip4/127.0.0.1/tcp/0',
        '--no-mdns',
        '--v1-api',
        '127.0.0.1:0',
        ...(peer != null ? ['--peer', peer] : []),
      ],
      a.env,
    )
    procs.push(pa)
  }
  /** Drains node B's inbox of broadcasts whose content starts with `prefix`, until all N are there. */
  const inboxOf = async (prefix: string, timeout: number) => {
    const got: string[] = []
    await eventually(async () => {
      const events = await B.get<EventJson[]>('/v1/poll?types=broadcast&limit=1000')
      got.push(...events.map((e) => e.content ?? '').filter((c) => c.startsWith(`${prefix} `)))
      return got.length >= N ? true : undefined
    }, timeout)
    return got
  }

  beforeAll(async () => {
    const mesh = agentMesh(dirs)
    a = mesh('burst-a')
    b = mesh('burst-b')
    await startA()
    pb = await spawnNode(
      [
        '--name',
        b.name,
        '--listen',
        '/ip4/127.0.0.1/tcp/0',
        '--no-mdns',
        '--v1-api',
        '127.0.0.1:0',
        '--peer',
        pa.addrs.find((x) => x.startsWith('/ip4/127.0.0.1/'))!,
      ],
      b.env,
    )
    procs.push(pb)
    A = a.api()
    B = b.api()
    await seesAll(a.env, [b.name])
    await seesAll(b.env, [a.name])
    // gossip is up once a first broadcast arrives live
    await A.post('/v1/broadcast', { content: 'warm-up' })
    await eventually(async () => {
      const events = await B.get<EventJson[]>('/v1/poll?types=broadcast&limit=1000')
      return events.some((e) => e.content === 'warm-up') ? true : undefined
    }, 20_000)
  }, 60_000)

  afterAll(async () => {
    A?.close()
    B?.close()
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })

  it('200 v1 POST /broadcast in a burst all reach the v1 agent of the other node, in order, once', async () => {
    const baseA = v1Url(pa)
    const baseB = v1Url(pb)
    expect((await v1(baseA, 'POST', '/register', { agent_id: 'sender1', name: 'Sender' })).status).toBe(200)
    expect((await v1(baseB, 'POST', '/register', { agent_id: 'reader1', name: 'Reader' })).status).toBe(200)
    const t0 = Date.now()
    for (const content of expected('v1-burst')) {
      const r = await v1(baseA, 'POST', '/broadcast', { from_agent: 'sender1', content, topic: 'burst' })
      expect(r.status).toBe(200)
      expect(r.body.status).toBe('broadcast_sent')
    }
    const accepted = Date.now() - t0
    const got: string[] = []
    await eventually(async () => {
      const r = await v1(baseB, 'GET', '/poll/reader1')
      got.push(
        ...r.body.messages
          .filter((m: Json) => m.type === 'knowledge_broadcast' && m.content.startsWith('v1-burst '))
          .map((m: Json) => m.content as string),
      )
      return got.length >= N ? true : undefined
    }, 60_000)
    console.log(`v1 burst: ${N} accepted in ${accepted} ms, all on the other node in ${Date.now() - t0} ms`)
    expect(got).toEqual(expected('v1-burst'))
  }, 90_000)

  it('200 control-API broadcasts in a burst all reach the other node inbox, in order, once', async () => {
    const t0 = Date.now()
    for (const content of expected('cli-burst')) await A.post('/v1/broadcast', { content, topic: 'burst' })
    const accepted = Date.now() - t0
    const got = await inboxOf('cli-burst', 60_000)
    console.log(`control burst: ${N} accepted in ${accepted} ms, all in the inbox in ${Date.now() - t0} ms`)
    expect(got).toEqual(expected('cli-burst'))
  }, 90_000)

  it('a sender killed with broadcasts still queued publishes them after its restart', async () => {
    for (const content of expected('restart-burst'))
      await A.post('/v1/broadcast', { content, topic: 'burst' })
    const pending = (await A.get<StatusJson>('/v1/status')).broadcastsPending
    await pa.stop('SIGKILL')
    expect(pending).toBeGreaterThan(50)
    A.close()
    await startA(pb.addrs.find((x) => x.startsWith('/ip4/127.0.0.1/')))
    A = a.api()
    const got = await inboxOf('restart-burst', 60_000)
    // each once; the order may differ around the kill (one handed to gossip but not yet on the wire
    // comes through history sync)
    expect(got).toHaveLength(N)
    expect(new Set(got)).toEqual(new Set(expected('restart-burst')))
    // the queue was found in the store after the restart and drained
    await eventually(async () =>
      (await A.get<StatusJson>('/v1/status')).broadcastsPending === 0 ? true : undefined,
    )
  }, 90_000)
})

describe('a sender whose queue is full refuses with 429 and Retry-After, never 200', () => {
  const dirs: string[] = []
  let p: NodeProcess | undefined
  let listener: NodeProcess | undefined
  afterAll(async () => {
    await p?.stop('SIGKILL')
    await listener?.stop('SIGKILL')
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })

  /** One control-API request over the node's socket, with the response headers. */
  const control = (socketPath: string, body: unknown) =>
    new Promise<{ status: number; retryAfter?: string; body: Json }>((resolve, reject) => {
      const req = request(
        {
          socketPath,
          path: '/v1/broadcast',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          let text = ''
          res.on('data', (d: Buffer) => {
            text += d.toString()
          })
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              retryAfter: res.headers['retry-after'] as string | undefined,
              body: JSON.parse(text),
            }),
          )
        },
      )
      req.on('error', reject)
      req.end(JSON.stringify(body))
    })

  it('v1 API and control API answer 429 with Retry-After once 60 s of publishing waits', async () => {
    const mesh = agentMesh(dirs)
    const solo = mesh('burst-solo')
    const other = mesh('burst-listener')
    // --broadcast-rate 0.1: the queue holds 5 (60 s at 0.08/s) and frees a place every 12.5 s, so a
    // loaded machine cannot drain it between filling it and checking the refusal more than rarely; each
    // check below is retried a few times for that rare case, and every broadcast accepted is counted
    p = await spawnNode(
      [
        '--name',
        solo.name,
        '--listen',
        '/ip4/127.0.0.1/tcp/0',
        '--no-mdns',
        '--broadcast-rate',
        '0.1',
        '--v1-api',
        '127.0.0.1:0',
      ],
      solo.env,
    )
    const base = p.events.find((x) => x.event === 'v1_api_listening')!.url as string
    // someone listens (with nobody subscribed, nothing is paced: history sync carries it all)
    listener = await spawnNode(
      ['--name', other.name, '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--peer', p.addrs[0]!],
      other.env,
    )
    await seesAll(solo.env, [other.name])
    // a first broadcast arrives: gossip between the two is up
    expect((await cli(['broadcast', '--content', 'warm-up'], solo.env)).code).toBe(0)
    await eventually(async () => {
      const seen = await cliJson<Array<{ content: string }>>(['knowledge'], other.env)
      return seen.some((b) => b.content === 'warm-up') ? true : undefined
    })
    expect((await v1(base, 'POST', '/register', { agent_id: 'fast1', name: 'Fast' })).status).toBe(200)
    let accepted = 1
    let refused: Response | undefined
    for (let i = 0; i < 30 && refused == null; i++) {
      const res = await fetch(`${base}/broadcast`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ from_agent: 'fast1', content: `full ${i}` }),
      })
      if (res.status === 200) accepted++
      else refused = res
    }
    expect(refused?.status).toBe(429)
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(((await refused!.json()) as Json).error).toMatch(/waiting to be published/)
    expect(accepted - 1).toBeGreaterThanOrEqual(5)

    const socket = dataDirPaths(join(solo.home, 'agents', solo.name)).socket
    let r = await control(socket, { content: 'one more' })
    for (let i = 0; i < 5 && r.status === 200; i++) {
      accepted++
      r = await control(socket, { content: `one more ${i}` })
    }
    expect(r.status).toBe(429)
    expect(r.body.error.code).toBe('broadcast_backlog')
    expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1)

    let cliRefused = await cli(['broadcast', '--content', 'and another'], solo.env)
    for (let i = 0; i < 5 && cliRefused.code === 0; i++) {
      accepted++
      cliRefused = await cli(['broadcast', '--content', `and another ${i}`], solo.env)
    }
    expect(cliRefused.code).toBe(1)
    expect(cliRefused.stderr).toMatch(/waiting to be published; try again in \d+ s/)
    // what was refused was not stored: the node holds exactly the broadcasts it accepted
    const kept = await cliJson<unknown[]>(['knowledge', '--limit', '1000'], solo.env)
    expect(kept).toHaveLength(accepted)
  }, 60_000)
})
