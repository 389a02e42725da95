// The control server with kept connections: requests one after another on a connection, bounded in
// number and in body size per request, an idle timeout clients can see, and clients that leave.
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ControlClient } from '../../src/client/control-client.js'
import { ControlServer, KEEP_ALIVE_TIMEOUT, MAX_CONTROL_CONNECTIONS } from '../../src/control/server.js'

let dir: string
let socketPath: string
const cleanups: Array<() => Promise<void> | void> = []

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawlink-ka-'))
  socketPath = join(dir, 'control.sock')
})
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
  rmSync(dir, { recursive: true, force: true })
})

async function control(setup: (server: ControlServer) => void, maxBody?: number): Promise<ControlServer> {
  const server = new ControlServer(socketPath, () => {}, maxBody)
  setup(server)
  await server.listen()
  cleanups.push(() => server.close())
  return server
}

function client(opts: { maxConnections?: number } = {}): ControlClient {
  const c = new ControlClient(socketPath, 'test-node', { keepAlive: true, ...opts })
  cleanups.push(() => c.close())
  return c
}

/** One raw request on a new connection; resolves with the answer's head once it arrives. */
function rawHead(socket: Socket, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = ''
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1')
      const end = got.indexOf('\r\n\r\n')
      if (end >= 0) resolve(got.slice(0, end))
    })
    socket.on('error', reject)
    socket.write(request)
  })
}

describe('control server keep-alive', () => {
  it('answers many requests, sequential and concurrent, on a few kept connections', async () => {
    await control((s) => {
      s.route('GET', '/v1/status', () => ({ ok: true }))
      s.route('POST', '/v1/echo', (req) => req.body)
    })
    const c = client({ maxConnections: 4 })
    for (let i = 0; i < 100; i++) expect(await c.post('/v1/echo', { i })).toEqual({ i })
    // an error answer (no such endpoint, bad query) keeps the connection too
    await expect(c.get('/v1/nothing?x=1')).rejects.toThrow('no such endpoint: GET /v1/nothing')
    await expect(c.get('/v1/status?x=%FF')).rejects.toThrow('query string is not valid UTF-8')
    await expect(c.get('/v1/nothing/%FF')).rejects.toThrow('no such endpoint')
    expect(c.connectionsOpened).toBe(1)
    const all = await Promise.all(Array.from({ length: 200 }, (_, i) => c.post('/v1/echo', { i })))
    expect(all).toEqual(Array.from({ length: 200 }, (_, i) => ({ i })))
    // four kept connections; a request that found them all busy had one of its own
    const opened = c.connectionsOpened
    for (let i = 0; i < 100; i++) await c.get('/v1/status')
    expect(c.connectionsOpened).toBe(opened)
  })

  it('tells clients its idle timeout, which they undercut', async () => {
    await control((s) => s.route('GET', '/v1/status', () => ({})))
    const socket = connect(socketPath)
    cleanups.push(() => void socket.destroy())
    const head = await rawHead(socket, 'GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n')
    expect(head).toMatch(/\r\nkeep-alive: timeout=(\d+)/i)
    expect(Number(/timeout=(\d+)/i.exec(head)![1]) * 1000).toBe(KEEP_ALIVE_TIMEOUT)
    expect(KEEP_ALIVE_TIMEOUT).toBeGreaterThan(5_000)
  })

  it('refuses a body over the bound on a kept connection, closes that connection, and serves the next', async () => {
    await control((s) => s.route('POST', '/v1/echo', (req) => req.body), 1000)
    const c = client({ maxConnections: 1 })
    expect(await c.post('/v1/echo', { small: 'x'.repeat(500) })).toEqual({ small: 'x'.repeat(500) })
    await expect(c.post('/v1/echo', { big: 'x'.repeat(5000) })).rejects.toThrow(
      'request body over 1000 bytes',
    )
    // the refused body was not taken for a request; the client goes on, on a new connection
    expect(await c.post('/v1/echo', { again: 1 })).toEqual({ again: 1 })
    expect(c.connectionsOpened).toBe(2)
  })

  it(`holds at most ${MAX_CONTROL_CONNECTIONS} connections open; one more is closed at once`, async () => {
    await control((s) => s.route('GET', '/v1/status', () => ({})))
    const sockets: Socket[] = []
    cleanups.push(() => {
      for (const s of sockets) s.destroy()
    })
    for (let i = 0; i < MAX_CONTROL_CONNECTIONS; i++) {
      const s = connect(socketPath)
      sockets.push(s)
      await new Promise<void>((r) => s.once('connect', () => r()))
    }
    // every one of them is served (a request on each proves the server took it)
    await Promise.all(sockets.map((s) => rawHead(s, 'GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n')))
    const extra = connect(socketPath)
    sockets.push(extra)
    const ended = await new Promise<string>((resolve) => {
      extra.on('data', () => resolve('answered'))
      extra.on('close', () => resolve('closed'))
      extra.on('error', () => {})
      extra.write('GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n')
    })
    expect(ended).toBe('closed')
  })

  it('a client that aborts a held request is seen leaving; its kept neighbours carry on', async () => {
    let entered!: () => void
    const holding = new Promise<void>((r) => {
      entered = r
    })
    let left!: () => void
    const gone = new Promise<void>((r) => {
      left = r
    })
    await control((s) => {
      s.route('GET', '/v1/status', () => ({}))
      s.route('GET', '/v1/hold', (req) => {
        entered()
        return new Promise((resolve) =>
          req.signal.addEventListener('abort', () => {
            left()
            resolve(null)
          }),
        )
      })
    })
    const c = client({ maxConnections: 2 })
    await Promise.all([c.get('/v1/status'), c.get('/v1/status')])
    const ac = new AbortController()
    const held = c.get('/v1/hold', { signal: ac.signal })
    await holding
    ac.abort()
    await expect(held).rejects.toThrow('the request was canceled')
    await gone
    expect(await c.get('/v1/status')).toEqual({})
    expect(c.connectionsOpened).toBe(2)
  })
})
