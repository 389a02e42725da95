// ControlClient with keepAlive: a few kept connections carrying one request after another, against a
// fake node that answers in pieces, chunked, too large, closes idle connections or dies mid-answer.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ControlClient, type ControlClientOptions } from '../../src/client/control-client.js'

interface FakeRequest {
  method: string
  path: string
  body: string
  /** which connection (0, 1, ...) and which request on it (0, 1, ...) */
  conn: number
  index: number
}

let base: string
let server: Server | undefined
let sockets: Socket[] = []
let requests: FakeRequest[] = []
/** resolves each time a connection of the fake node closes */
let closes: Array<() => void> = []
let closed = 0

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'clawlink-pool-'))
  sockets = []
  requests = []
  closes = []
  closed = 0
})
afterEach(async () => {
  for (const s of sockets) s.destroy()
  await new Promise<void>((r) => (server != null ? server.close(() => r()) : r()))
  server = undefined
  rmSync(base, { recursive: true, force: true })
})

const ok = (body: string) =>
  `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`

/** A fake node reading requests one after another on each connection; `answer` replies as it likes. */
async function fakeNode(
  answer: (req: FakeRequest, s: Socket) => void,
  opts: ControlClientOptions = {},
): Promise<ControlClient> {
  const sock = join(base, 'control.sock')
  server = createServer((s) => {
    const conn = sockets.length
    sockets.push(s)
    let buf = Buffer.alloc(0)
    let index = 0
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      for (;;) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) return
        const head = buf.subarray(0, end).toString('latin1').split('\r\n')
        const length = Number(/content-length:\s*(\d+)/i.exec(head.join('\n'))?.[1] ?? 0)
        if (buf.length < end + 4 + length) return
        const [method, path] = head[0]!.split(' ') as [string, string]
        const req = {
          method,
          path,
          body: buf.subarray(end + 4, end + 4 + length).toString(),
          conn,
          index: index++,
        }
        buf = buf.subarray(end + 4 + length)
        requests.push(req)
        answer(req, s)
      }
    })
    s.on('error', () => {})
    s.on('close', () => {
      closed++
      for (const fn of closes.splice(0)) fn()
    })
  })
  await new Promise<void>((r) => server!.listen(sock, r))
  return new ControlClient(sock, 'alice', { keepAlive: true, ...opts })
}

/** Resolves once `n` connections of the fake node have closed. */
async function closedCount(n: number): Promise<void> {
  while (closed < n) await new Promise<void>((r) => closes.push(r))
}

const WENT_AWAY = 'the node alice went away while answering (it stopped or crashed); is it still running?'

describe('ControlClient keep-alive pool', () => {
  it('carries many sequential requests on one connection', async () => {
    const client = await fakeNode((req, s) => s.write(ok(`{"n":${req.index}}`)))
    for (let i = 0; i < 50; i++) await expect(client.get('/v1/status')).resolves.toEqual({ n: i })
    expect(sockets.length).toBe(1)
    expect(client.connectionsOpened).toBe(1)
    client.close()
    await closedCount(1)
  })

  it('keeps at most maxConnections; a request beyond them gets its own connection, closed after', async () => {
    const held: Array<() => void> = []
    const client = await fakeNode(
      (req, s) => {
        const reply = () => s.write(ok(`"${req.path}"`))
        if (req.path === '/slow') held.push(reply)
        else reply()
      },
      { maxConnections: 2 },
    )
    const slow = [client.get('/slow'), client.get('/slow'), client.get('/slow')]
    while (held.length < 3) await new Promise((r) => setTimeout(r, 5))
    for (const reply of held) reply()
    await expect(Promise.all(slow)).resolves.toEqual(['/slow', '/slow', '/slow'])
    expect(sockets.length).toBe(3)
    // the third connection was told to close; the two kept ones carry what follows
    await closedCount(1)
    for (let i = 0; i < 10; i++) await client.get('/fast')
    expect(sockets.length).toBe(3)
    expect(new Set(requests.filter((r) => r.path === '/fast').map((r) => r.conn)).size).toBe(1)
    client.close()
  })

  it('reads answers that arrive a byte at a time, and chunked ones, on the same connection', async () => {
    const client = await fakeNode((req, s) => {
      const raw =
        req.index % 2 === 0
          ? ok('{"ok":"é"}')
          : 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n[1,2\r\n3\r\n,3]\r\n0\r\n\r\n'
      const bytes = Buffer.from(raw)
      let i = 0
      const drip = () => {
        if (i >= bytes.length) return
        s.write(bytes.subarray(i, ++i))
        setImmediate(drip)
      }
      drip()
    })
    for (let i = 0; i < 3; i++) {
      await expect(client.get('/a')).resolves.toEqual({ ok: 'é' })
      await expect(client.get('/b')).resolves.toEqual([1, 2, 3])
    }
    expect(sockets.length).toBe(1)
    client.close()
  })

  it('refuses an answer over maxResponseBytes, by Content-Length or chunk by chunk', async () => {
    const client = await fakeNode(
      (req, s) =>
        s.write(
          req.path === '/length'
            ? ok(`"${'x'.repeat(2000)}"`)
            : `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${`200\r\n${'y'.repeat(512)}\r\n`.repeat(3)}`,
        ),
      { maxResponseBytes: 1000 },
    )
    await expect(client.get('/length')).rejects.toThrow('the node alice sent an oversized answer')
    await expect(client.get('/chunked')).rejects.toThrow('the node alice sent an oversized answer')
    // each refused answer took its connection with it
    await closedCount(2)
  })

  it('opens a new connection when the node closed the idle one', async () => {
    const client = await fakeNode((_req, s) =>
      s.end(ok('{}').replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')),
    )
    await client.get('/v1/status')
    await closedCount(1)
    await expect(client.get('/v1/status')).resolves.toEqual({})
    expect(sockets.length).toBe(2)
  })

  it('retries a GET once when a kept connection closes under it, before any answer', async () => {
    // the node answers the first request on a connection and drops the connection at the second (as an
    // idle timeout does when it meets a request on the way)
    const client = await fakeNode((req, s) => (req.index === 0 ? s.write(ok('"first"')) : s.destroy()))
    await expect(client.get('/v1/poll')).resolves.toBe('first')
    await expect(client.get('/v1/poll')).resolves.toBe('first')
    expect(requests.map((r) => [r.conn, r.index])).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
    ])
  })

  it('never retries a POST the node may have received: it went away, and it was sent once', async () => {
    const client = await fakeNode((req, s) => (req.index === 0 ? s.write(ok('"first"')) : s.destroy()))
    await client.get('/v1/status')
    await expect(client.post('/v1/tasks', { to: 'bob', task: 't' })).rejects.toThrow(WENT_AWAY)
    expect(requests.filter((r) => r.method === 'POST')).toHaveLength(1)
  })

  it('does not retry a GET whose answer had begun when the node died', async () => {
    const client = await fakeNode((req, s) => {
      if (req.index === 0) s.write(ok('"first"'))
      else {
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n["ev')
        s.destroy()
      }
    })
    await client.get('/v1/poll')
    await expect(client.get('/v1/poll')).rejects.toThrow(WENT_AWAY)
    expect(requests).toHaveLength(2)
  })

  it('aborting a request closes its connection (the node sees a client that left)', async () => {
    const client = await fakeNode((req, s) => {
      if (!req.path.startsWith('/v1/poll')) s.write(ok('{}'))
    })
    await client.get('/v1/status')
    const ac = new AbortController()
    const poll = client.get('/v1/poll?wait=30000', { signal: ac.signal })
    while (requests.length < 2) await new Promise((r) => setTimeout(r, 5))
    ac.abort()
    await expect(poll).rejects.toThrow('the request was canceled')
    await closedCount(1)
    // the next request does not reuse the aborted connection
    await expect(client.get('/v1/status')).resolves.toEqual({})
    expect(requests.at(-1)!.conn).toBe(1)
    client.close()
  })

  it('a timeout destroys the connection; the next request opens another', async () => {
    const client = await fakeNode((req, s) => {
      if (req.path !== '/hang') s.write(ok('{}'))
    })
    await expect(client.get('/hang', { timeout: 100 })).rejects.toThrow(
      'the node alice did not answer in time',
    )
    await closedCount(1)
    await expect(client.get('/v1/status')).resolves.toEqual({})
    expect(sockets.length).toBe(2)
    client.close()
  })

  it('closes idle connections after idleTimeout, and all of them on close()', async () => {
    let client = await fakeNode((_req, s) => s.write(ok('{}')), { idleTimeout: 50 })
    await client.get('/v1/status')
    await closedCount(1)
    await new Promise<void>((r) => server!.close(() => r()))
    sockets = []
    closed = 0
    client = await fakeNode((_req, s) => s.write(ok('{}')), { idleTimeout: 60_000, maxConnections: 3 })
    await Promise.all([client.get('/a'), client.get('/b'), client.get('/c')])
    expect(sockets.length).toBe(3)
    client.close()
    await closedCount(3)
    // and a closed client still works, on a new connection it keeps
    await client.get('/v1/status')
    await client.get('/v1/status')
    expect(sockets.length).toBe(4)
    client.close()
  })

  it('kept connections never keep a process alive', { timeout: 30_000 }, async () => {
    const client = await fakeNode((_req, s) => s.write(ok('{"ok":true}')))
    const built = fileURLToPath(new URL('../../dist/client/control-client.js', import.meta.url))
    const script = `const { ControlClient } = await import(${JSON.stringify(built)})
      const c = new ControlClient(${JSON.stringify(client.socket)}, 'alice', { keepAlive: true, idleTimeout: 60000 })
      console.log(JSON.stringify(await c.get('/v1/status')))`
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    // it exits on its own, long before its 60 s idle timeout (and the fake node never closes it)
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    const code = await new Promise<number | null>((r) => child.on('close', r))
    clearTimeout(killer)
    expect(out.trim()).toBe('{"ok":true}')
    expect(code).toBe(0)
  })
})
