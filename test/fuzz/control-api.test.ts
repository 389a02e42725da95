// Fuzzing the control API of one in-process node: every route gets generated bodies and query strings,
// the socket gets raw garbage. The node must answer 200 or a 4xx with {error: {code, message}}, never a
// 5xx, never log an internal error, and keep answering /v1/status with bounded memory.
import { randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ControlClient, parseResponse } from '../../src/client/control-client.js'
import { ClientError } from '../../src/client/errors.js'
import type { ClawLinkNode } from '../../src/core/index.js'
import { TaskMessage } from '../../src/protocols/tasks/index.js'
import { type LogSink, startNode, type TestMesh, testMesh } from '../helpers/in-process.js'
import { anyJson, nastyNumber, nastyString, nearValid, runs } from './arbitraries.js'

/** A full garbage collection, so heap sizes compare what is retained rather than what awaits collection. */
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function retainedHeap(): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

interface RawResponse {
  status: number
  body: string
  json: unknown
}

let mesh: TestMesh
let node: ClawLinkNode & { sink: LogSink }
let socket: string
let client: ControlClient
/** A directory of files that /v1/files/put may read: paths outside it are never generated. */
let dir: string
/** A valid PeerId no node has: delegations to it are accepted and wait in the outbox. */
let stranger: string
/** A peer that "sent" this node tasks (put straight into the store). */
let ghost: string
const received: string[] = []
const sent: string[] = []
let heapBefore = 0
/** How often each route answered each status (printed with FUZZ_STATS=1, to see what the runs reach). */
const stats = new Map<string, number>()

/** Every byte the server sends back on one connection, until it closes it. */
function exchange(data: Buffer, opts: { halfClose?: boolean } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(socket)
    const chunks: Buffer[] = []
    // a safety net only: a hang fails the test instead of stalling the run
    const timer = setTimeout(() => {
      s.destroy()
      reject(new Error(`no answer within 20 s to ${data.subarray(0, 80).toString('latin1')}`))
    }, 20_000)
    s.on('connect', () => {
      s.write(data)
      if (opts.halfClose === true) s.end()
    })
    s.on('data', (c: Buffer) => chunks.push(c))
    // the server may close while we still write (413, 431): what it answered still counts
    s.on('error', () => {})
    s.on('close', () => {
      clearTimeout(timer)
      resolve(Buffer.concat(chunks))
    })
  })
}

function head(method: string, target: string, length: number, extra = ''): string {
  return `${method} ${target} HTTP/1.1\r\nHost: clawlink\r\nConnection: close\r\n${extra}Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`
}

/** One HTTP/1.1 request over the Unix socket; the raw status is what the CLI's client hides. */
async function request(method: string, target: string, body?: string | Buffer): Promise<RawResponse> {
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(body)
  const raw = await exchange(Buffer.concat([Buffer.from(head(method, target, payload.length)), payload]))
  const { status, body: text } = parseResponse(raw)
  const route = `${method} ${target.split('?')[0]!.slice(0, 40)} ${status}`
  stats.set(route, (stats.get(route) ?? 0) + 1)
  let json: unknown
  try {
    json = text === '' ? undefined : JSON.parse(text)
  } catch {
    throw new Error(`${method} ${target}: answer is not JSON: ${text.slice(0, 200)}`)
  }
  return { status, body: text, json }
}

/**
 * 200, or a 4xx with a well-formed error body. Requests that Node's HTTP parser refuses before they
 * reach the API (a target over its 16 KiB header limit: 431; a malformed request: 400) get Node's
 * own empty answer.
 */
function expectSane(res: RawResponse, what: string): void {
  if (res.status === 200) return
  expect(res.status, `${what}: ${res.body.slice(0, 300)}`).toBeGreaterThanOrEqual(400)
  expect(res.status, `${what}: ${res.body.slice(0, 300)}`).toBeLessThan(500)
  if (res.body === '' && (res.status === 400 || res.status === 431)) return
  const error = (res.json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error
  expect(typeof error?.code, what).toBe('string')
  expect(error?.code, what).not.toBe('')
  expect(typeof error?.message, what).toBe('string')
  expect(error?.message, what).not.toBe('')
  // no internals leaking into a message meant for a person
  expect(error?.message, what).not.toMatch(/\[native code\]|\[object Object\]|Maximum call stack/)
}

async function expectAlive(): Promise<void> {
  const res = await request('GET', '/v1/status')
  expect(res.status).toBe(200)
  expect((res.json as { card: { id: string } }).card.id).toBe(node.peerId.toString())
}

function internalErrors(): Array<Record<string, unknown>> {
  return node.sink.events.filter((e) => e.event === 'control_error')
}

beforeAll(async () => {
  mesh = testMesh()
  node = await startNode(mesh, { name: 'fuzz', mdns: false })
  socket = node.paths.socket
  client = new ControlClient(socket, 'fuzz')
  // outside CLAWLINK_HOME: file-put refuses to share what is inside it
  dir = mkdtempSync(join(tmpdir(), 'clawlink-fuzz-files-'))
  writeFileSync(join(dir, 'small.txt'), 'hello fuzz\n')
  writeFileSync(join(dir, 'empty'), '')
  writeFileSync(join(dir, 'data.json'), '{"a":1}')
  mkdirSync(join(dir, 'sub'))
  stranger = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  ghost = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  // tasks this node received (from a peer that is not there), so respond has something to answer
  for (let i = 0; i < 12; i++) {
    const id = randomUUID()
    const r = node.taskStore.receiveDelegate(
      ghost,
      'ghost',
      {
        kind: TaskMessage.Kind.DELEGATE,
        msgId: randomUUID(),
        taskId: id,
        task: `task ${i}`,
        context: i === 0 ? '' : '{"n":1}',
        priority: TaskMessage.Priority.NORMAL,
        createdAt: BigInt(Date.now()),
        expiresAt: BigInt(Date.now() + 3600_000),
        state: TaskMessage.State.UNSPECIFIED,
        result: '',
        reason: '',
      },
      1000,
    )
    expect(r.status).toBe('stored')
    received.push(id)
  }
  // tasks this node delegated, so cancel has something to withdraw
  for (let i = 0; i < 3; i++) {
    const res = await request('POST', '/v1/tasks', JSON.stringify({ to: stranger, task: `job ${i}` }))
    expect(res.status).toBe(200)
    sent.push((res.json as { id: string }).id)
  }
  expect(
    (await request('POST', '/v1/files/put', JSON.stringify({ key: 'a.txt', path: join(dir, 'small.txt') })))
      .status,
  ).toBe(200)
  await expectAlive()
  heapBefore = retainedHeap()
})

afterAll(async () => {
  if (process.env.FUZZ_STATS != null)
    console.log(
      [...stats]
        .sort()
        .map(([k, n]) => `${k}: ${n}`)
        .join('\n'),
    )
  await mesh?.cleanup()
  if (dir != null) rmSync(dir, { recursive: true, force: true })
})

// ---- bodies ----

/** A field's value: mostly from `arb`, sometimes any JSON value at all (a wrong type). */
const loose = (arb: fc.Arbitrary<unknown>) => fc.oneof({ weight: 3, arbitrary: arb }, anyJson())

/**
 * Bodies for one route: a valid body with up to two fields made hostile or removed (reaching deep into
 * the handler), any subset of hostile fields, a valid body with an extra field, or no object at all.
 */
function bodies(
  valid: fc.Arbitrary<Record<string, unknown>>,
  hostile: Record<string, fc.Arbitrary<unknown>>,
): fc.Arbitrary<string | undefined> {
  const orGone: Record<string, fc.Arbitrary<unknown>> = {}
  for (const [k, arb] of Object.entries(hostile))
    orGone[k] = fc.oneof({ weight: 4, arbitrary: arb }, fc.constant(undefined))
  const extra = fc
    .tuple(valid, fc.oneof(nastyString(12), fc.constantFrom('__proto__', 'constructor', 'extra')), anyJson())
    .map(([o, k, v]) => {
      const text = JSON.stringify(o)
      return `${text.slice(0, -1)}${text === '{}' ? '' : ','}${JSON.stringify(k)}:${JSON.stringify(v)}}`
    })
  return fc.oneof(
    { weight: 6, arbitrary: nearValid(valid, orGone).map((o) => JSON.stringify(o)) },
    { weight: 3, arbitrary: fc.record(hostile, { requiredKeys: [] }).map((o) => JSON.stringify(o)) },
    { weight: 1, arbitrary: extra },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.constantFrom(undefined, '', '{', '{"a":', 'nul', '[1,]', '\u0000', '{}{}', '"\\ud800"', ' '),
        fc.string({ maxLength: 40 }),
        fc.integer({ min: 1, max: 100_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
      ),
    },
  )
}

const PRIORITIES = ['low', 'normal', 'high', 'urgent']
const MAX_WAIT = 24 * 3600 * 1000
const MAX_TTL = 30 * 24 * 3600 * 1000
/** Waits that never block long: small, or refused before anything waits (never any JSON at all). */
const wait = fc.oneof(
  fc.integer({ min: 0, max: 30 }),
  fc.constantFrom(-1, -0.5, MAX_WAIT + 1, 1e308, '10', true, [], {}, null, 'x'),
)
/** JSON text a task's context may (or may not) be. */
const context = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.integer({ min: 100, max: 50_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 120, max: 140 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
  nastyString(20),
)
const KEYS = ['a.txt', 'b.md', 'dir/c.json', 'ü/ß.txt', 'x'.repeat(512), 'sp ace.txt']
const keyArb = fc.oneof(
  fc.constantFrom(...KEYS),
  fc.constantFrom(
    '',
    '/abs',
    'a/../b',
    '..',
    'a\u0000',
    '\ud800',
    'a/\udc00b',
    'x'.repeat(513),
    'é'.repeat(257),
  ),
  nastyString(30),
)
const versionArb = fc.oneof(
  fc.integer({ min: 0, max: 5 }),
  fc.constantFrom('1', '', ' ', '0x1', '1e3', -1, 0.5),
  nastyNumber,
)
const text = (max: number) => fc.string({ minLength: 1, maxLength: max }).filter((t) => t.trim() !== '')

const ROUTES: Array<{ path: string; body: () => fc.Arbitrary<string | undefined>; runs: number }> = [
  {
    path: '/v1/register',
    runs: 200,
    body: () =>
      bodies(
        fc.record(
          {
            name: fc.constantFrom('fuzz', 'fuzz-2', 'fuzz.3'),
            caps: fc.uniqueArray(fc.constantFrom('a', 'b:c', 'x/y'), { maxLength: 3 }),
            description: fc.string({ maxLength: 100 }),
          },
          { requiredKeys: [] },
        ),
        {
          name: loose(fc.oneof(nastyString(70), fc.constantFrom('', '-x', 'a'.repeat(65)))),
          caps: loose(fc.oneof(fc.array(nastyString(70), { maxLength: 40 }), fc.constant(['a', 'a']))),
          description: loose(fc.oneof(nastyString(40), fc.constant('d'.repeat(1025)))),
        },
      ),
  },
  { path: '/v1/heartbeat', runs: 60, body: () => bodies(fc.constant({}), { ok: anyJson() }) },
  {
    path: '/v1/tasks',
    runs: 300,
    body: () =>
      bodies(
        fc.record(
          {
            to: fc.constant(stranger),
            task: text(100),
            context: fc.json({ maxDepth: 2 }),
            priority: fc.constantFrom(...PRIORITIES),
            ttl: fc.integer({ min: 1000, max: MAX_TTL }),
            wait: fc.integer({ min: 0, max: 30 }),
          },
          { requiredKeys: ['to', 'task'] },
        ),
        {
          to: loose(
            fc.oneof(
              fc.constantFrom('nobody', 'fuzz', '12D3KooW', stranger.slice(0, 12), stranger.slice(0, -1)),
              fc.constant(node.peerId.toString()),
              nastyString(30),
            ),
          ),
          cap: loose(fc.oneof(fc.constant('x'), nastyString(20))),
          task: loose(fc.oneof(nastyString(40), fc.constantFrom('', ' \n', 'x'.repeat(1024 * 1024 + 1)))),
          context: loose(context),
          priority: loose(nastyString(10)),
          ttl: loose(fc.oneof(fc.constantFrom(999, MAX_TTL + 1), nastyNumber)),
          wait,
        },
      ),
  },
  {
    path: '/v1/respond',
    runs: 200,
    body: () =>
      bodies(
        fc.record(
          {
            id: fc.constantFrom(...received),
            result: fc.string({ maxLength: 100 }),
            status: fc.constantFrom('working', 'in_progress', 'completed', 'failed', 'rejected'),
            to: fc.constantFrom(ghost, 'ghost', ghost.slice(0, 14)),
          },
          { requiredKeys: ['id', 'result'] },
        ),
        {
          id: loose(fc.oneof(fc.constantFrom(...sent), fc.uuid(), nastyString(20))),
          result: loose(fc.oneof(nastyString(40), fc.constant('r'.repeat(1024 * 1024 + 1)))),
          status: loose(
            fc.oneof(
              fc.constantFrom('canceled', 'expired', 'submitted', 'constructor', 'toString', '__proto__'),
              nastyString(12),
            ),
          ),
          to: loose(fc.oneof(fc.constant(stranger), nastyString(20))),
        },
      ),
  },
  {
    path: '/v1/cancel',
    runs: 200,
    body: () =>
      bodies(
        fc.record(
          { id: fc.constantFrom(...sent), reason: fc.string({ maxLength: 100 }) },
          { requiredKeys: ['id'] },
        ),
        {
          id: loose(fc.oneof(fc.constantFrom(...received), fc.uuid(), nastyString(20))),
          reason: loose(fc.oneof(nastyString(40), fc.constantFrom('r'.repeat(1025), 'é'.repeat(513)))),
        },
      ),
  },
  {
    path: '/v1/broadcast',
    runs: 200,
    body: () =>
      bodies(
        fc.record(
          {
            content: text(200),
            topic: fc.constantFrom('general', 'ci', 'a.b-c_d'),
            tags: fc.uniqueArray(fc.constantFrom('a', 'b', 'release'), { maxLength: 3 }),
          },
          { requiredKeys: ['content'] },
        ),
        {
          content: loose(fc.oneof(nastyString(60), fc.constantFrom('', ' ', 'c'.repeat(64 * 1024 + 1)))),
          topic: loose(fc.oneof(nastyString(70), fc.constantFrom('', 'General', '-a', 'a'.repeat(65)))),
          tags: loose(
            fc.oneof(
              fc.array(nastyString(70), { maxLength: 18 }),
              fc.constantFrom(
                ['a', 'a'],
                ['a,b'],
                [''],
                Array.from({ length: 17 }, (_, i) => `t${i}`),
              ),
            ),
          ),
        },
      ),
  },
  {
    path: '/v1/files/put',
    runs: 250,
    body: () =>
      bodies(
        fc.record(
          {
            key: fc.constantFrom(...KEYS),
            path: fc.constantFrom('small.txt', 'empty', 'data.json').map((f) => join(dir, f)),
            base: fc.integer({ min: 0, max: 3 }),
            type: fc.constantFrom('text/plain', 'text/markdown; charset=utf-8'),
          },
          { requiredKeys: ['key', 'path'] },
        ),
        {
          key: loose(keyArb),
          // absolute paths only inside the fuzz directory (a random segment never contains '/')
          path: loose(
            fc.oneof(
              fc.constantFrom('sub', 'missing', '.', '..').map((f) => join(dir, f)),
              nastyString(20).map((s) => `${dir}/${s.replaceAll('/', '_').replace(/^\.\.?$/, '_')}`),
              fc.constantFrom('small.txt', 'relative/path', '', '~/x'),
            ),
          ),
          base: loose(versionArb),
          type: loose(fc.oneof(fc.constantFrom('text', 'a/b;\u0000', 'a b/c'), nastyString(30))),
        },
      ),
  },
  {
    path: '/v1/files/get',
    runs: 200,
    body: () =>
      bodies(
        fc.record(
          { key: fc.constantFrom(...KEYS), version: fc.integer({ min: 1, max: 4 }) },
          { requiredKeys: ['key'] },
        ),
        { key: loose(keyArb), version: loose(versionArb) },
      ),
  },
  {
    path: '/v1/files/rm',
    runs: 150,
    body: () =>
      bodies(
        fc.record(
          { key: fc.constantFrom(...KEYS), base: fc.integer({ min: 0, max: 4 }) },
          { requiredKeys: ['key'] },
        ),
        { key: loose(keyArb), base: loose(versionArb) },
      ),
  },
]

describe('control API under fuzzed input', () => {
  it.each(ROUTES)('POST $path answers 200 or 4xx to any body', async ({ path, body, runs: n }) => {
    await fc.assert(
      fc.asyncProperty(body(), async (b) => {
        expectSane(await request('POST', path, b), `POST ${path} ${String(b).slice(0, 200)}`)
      }),
      runs(n, path.length),
    )
    await expectAlive()
  })

  const QUERY: Record<string, fc.Arbitrary<string>> = {
    '/v1/status': fc.constant(''),
    '/v1/peers': fc.constantFrom('cap', 'all'),
    '/v1/tasks': fc.constantFrom('id', 'open'),
    '/v1/poll': fc.constantFrom('limit', 'peek', 'types'),
    '/v1/knowledge': fc.constantFrom('limit', 'since', 'from', 'topic', 'tag'),
    '/v1/files': fc.constantFrom('prefix', 'all'),
    '/v1/files/history': fc.constant('key'),
    '/v1/files/progress': fc.constant('sha256'),
  }
  const value = () =>
    fc.oneof(
      fc.constantFrom(
        '1',
        '0',
        '',
        'fuzz',
        'a.txt',
        'general',
        '-1',
        '1e3',
        '1.5',
        '10001',
        'NaN',
        'Infinity',
      ),
      fc.constantFrom(
        ...received,
        ...sent,
        'task,task_update,broadcast',
        ',,,',
        'ghost',
        ghost,
        'ab'.repeat(32),
      ),
      nastyString(30),
      nastyNumber.map(String),
    )

  it.each(Object.keys(QUERY))('GET %s answers 200 or 4xx to any query string', async (path) => {
    const param = fc.tuple(fc.oneof({ weight: 3, arbitrary: QUERY[path]! }, nastyString(10)), value())
    const query = fc.oneof(
      fc
        .array(param, { maxLength: 5 })
        .map((ps) => new URLSearchParams(ps.filter(([k]) => k !== 'wait')).toString()),
      // percent signs, plus signs and raw bytes, as a client might send them unencoded
      fc.string({
        unit: fc.constantFrom(..."%25%zz%ff%c3%28+&=;?#/aZ09-._~!$'()*,:@".split('')),
        maxLength: 40,
      }),
    )
    await fc.assert(
      fc.asyncProperty(query, fc.integer({ min: 0, max: 20 }), async (q, w) => {
        // a long poll must not make the run slow: wait comes first, and small
        const full = path === '/v1/poll' ? `wait=${w}${q === '' ? '' : `&${q}`}` : q
        const target = `${path}?${full}`.replace(/#/g, '%23')
        expectSane(await request('GET', target), `GET ${target}`)
      }),
      runs(150, path.length + 100),
    )
    await expectAlive()
  })

  it('gives back any text it accepts byte-identical, and answers 400 bad_encoding to text that is not Unicode', async () => {
    const LONE_SURROGATE = /\p{Cs}/u
    const FATAL = new TextDecoder('utf-8', { fatal: true })
    const isUtf8 = (b: Uint8Array) => {
      try {
        FATAL.decode(b)
        return true
      } catch {
        return false
      }
    }
    const badEncoding = { status: 400, json: { error: { code: 'bad_encoding' } } }
    await fc.assert(
      fc.asyncProperty(
        nastyString(60),
        fc.uint8Array({ minLength: 1, maxLength: 6 }),
        async (text, bytes) => {
          const task = await request('POST', '/v1/tasks', JSON.stringify({ to: stranger, task: text }))
          const bc = await request('POST', '/v1/broadcast', JSON.stringify({ content: text }))
          if (LONE_SURROGATE.test(text)) {
            expect(task).toMatchObject(badEncoding)
            expect((task.json as { error: { message: string } }).error.message).toBe(
              'task is not valid Unicode (a lone surrogate)',
            )
            expect(bc).toMatchObject(badEncoding)
          } else if (text.trim() === '') {
            expect(task.status).toBe(400)
            expect(bc.status).toBe(400)
          } else {
            expect(task.status).toBe(200)
            const id = (task.json as { id: string }).id
            const back = await request('GET', `/v1/tasks?id=${encodeURIComponent(id)}`)
            expect((back.json as Array<{ task: string }>)[0]!.task).toBe(text)
            expect(bc.status).toBe(200)
            const bid = (bc.json as { id: string }).id
            const list = (await request('GET', '/v1/knowledge?limit=1000')).json as Array<{
              id: string
              content: string
            }>
            expect(list.find((b) => b.id === bid)?.content).toBe(text)
          }
          // raw bytes inside the JSON text, and percent-encoded in the query
          const body = Buffer.concat([Buffer.from(`{"to":"${stranger}","task":"x`), bytes, Buffer.from('"}')])
          const rawTask = await request('POST', '/v1/tasks', body)
          const query = await request(
            'GET',
            `/v1/knowledge?topic=${Array.from(bytes, (b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`,
          )
          if (isUtf8(bytes)) {
            expectSane(rawTask, `POST /v1/tasks with bytes ${Buffer.from(bytes).toString('hex')}`)
            expect((rawTask.json as { error?: { code: string } }).error?.code).not.toBe('bad_encoding')
            expect((query.json as { error?: { code: string } }).error?.code).not.toBe('bad_encoding')
          } else {
            expect(rawTask).toMatchObject({
              ...badEncoding,
              json: { error: { code: 'bad_encoding', message: 'request body is not valid UTF-8' } },
            })
            expect(query).toMatchObject({
              ...badEncoding,
              json: { error: { code: 'bad_encoding', message: 'query string is not valid UTF-8' } },
            })
          }
        },
      ),
      runs(100),
    )
    await expectAlive()
  })

  it('answers unknown methods and request targets with a 4xx', async () => {
    const target = fc.oneof(
      fc.constantFrom(
        '/',
        '*',
        '//v1/status',
        '/v1/status/',
        '/V1/STATUS',
        '/v1/../v1/status',
        '/v1/status?%',
        '/%2e%2e',
      ),
      fc.constantFrom(
        'http://x:99999/v1/status',
        'http://[zz/v1/status',
        'http://clawlink/v1/status',
        'https://a@b/v1/peers',
      ),
      fc.webUrl({ withQueryParameters: true }),
      fc
        .string({ unit: fc.constantFrom(...'/v1statuspeerfilesknowledge?&=%.:@[]'.split('')), maxLength: 40 })
        .map((s) => `/${s}`),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
        target,
        async (m, t) => {
          expectSane(await request(m, t.replace(/[\s#]/g, '_'), m === 'GET' ? undefined : '{}'), `${m} ${t}`)
        },
      ),
      runs(300, 7),
    )
    await expectAlive()
  })

  it('the CLI client gets the server message for every 4xx', async () => {
    const posts = ROUTES.filter((r) => r.path !== '/v1/tasks')
    const route = fc.constantFrom(...posts).chain((r) => fc.tuple(fc.constant(r.path), r.body()))
    await fc.assert(
      fc.asyncProperty(route, async ([path, b]) => {
        const raw = await request('POST', path, b)
        expectSane(raw, `POST ${path}`)
        if (raw.status === 200 || b === undefined) return
        let value: unknown
        try {
          // the client sends JSON values, so feed it what the raw body parses to (if it does, and
          // can be written back: a 100,000 deep array cannot)
          value = JSON.parse(b)
          JSON.stringify(value)
        } catch {
          return
        }
        const err = await client.post(path, value).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(err).toBeInstanceOf(ClientError)
        expect((err as ClientError).message).toBe((raw.json as { error: { message: string } }).error.message)
      }),
      runs(200, 11),
    )
  })
})

describe('control socket under raw garbage', () => {
  it('survives random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 2048 }),
          fc.string({ maxLength: 200 }).map((s) => Buffer.from(`${s}\r\n\r\n`)),
          fc
            .tuple(
              fc.constantFrom('GET', 'POST', 'G\u0000T', 'get'),
              fc.string({ maxLength: 30 }),
              fc.string({ maxLength: 60 }),
            )
            .map(([m, t, h]) => Buffer.from(`${m} ${t} HTTP/1.1\r\n${h}\r\n\r\n`)),
        ),
        async (bytes) => {
          const answer = (await exchange(Buffer.from(bytes), { halfClose: true })).toString('latin1')
          // the HTTP parser may refuse it (400) or the route may (4xx); it never fails inside
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)
          if (status !== 0)
            expect(status === 200 || (status >= 400 && status < 500), answer.slice(0, 200)).toBe(true)
        },
      ),
      runs(150, 3),
    )
    await expectAlive()
  })

  it('refuses a header over 64 KiB', async () => {
    const raw = await exchange(
      Buffer.from(`GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(65 * 1024)}\r\n\r\n`),
    )
    expect(raw.toString('latin1')).toMatch(/^HTTP\/1\.1 431 /)
    await expectAlive()
  })

  it('handles a Content-Length larger than the body', async () => {
    for (const path of ['/v1/register', '/v1/broadcast', '/v1/nope']) {
      const raw = await exchange(Buffer.from(`${head('POST', path, 1000)}{"name":"x"}`), { halfClose: true })
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw.toString('latin1'))?.[1] ?? 0)
      if (status !== 0) expect(status).toBeGreaterThanOrEqual(400)
      if (status !== 0) expect(status).toBeLessThan(500)
    }
    await expectAlive()
  })

  it('refuses bodies over the limit, declared or chunked', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 0x61)
    const declared = await exchange(
      Buffer.concat([Buffer.from(head('POST', '/v1/broadcast', big.length)), big]),
    )
    expect(declared.toString('latin1')).toMatch(/^HTTP\/1\.1 413 /)
    const chunks = [
      Buffer.from(
        'POST /v1/broadcast HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n',
      ),
    ]
    for (let i = 0; i < 8; i++)
      chunks.push(Buffer.from(`100000\r\n`), big.subarray(0, 1024 * 1024), Buffer.from('\r\n'))
    chunks.push(Buffer.from('0\r\n\r\n'))
    const chunked = await exchange(Buffer.concat(chunks))
    expect(chunked.toString('latin1')).toMatch(/^HTTP\/1\.1 413 /)
    await expectAlive()
  })

  it('kept memory and logged no internal error', async () => {
    await expectAlive()
    const grown = retainedHeap() - heapBefore
    if (process.env.FUZZ_STATS != null)
      console.log(`heap retained: ${Math.round(grown / 1024 / 1024)} MB more`)
    expect(grown).toBeLessThan(200 * 1024 * 1024)
    expect(internalErrors()).toEqual([])
  })
})
