// The v1 WebSocket's bounds in process, with short timings: ping/pong timeout, frame size, a flood of
// client frames, backpressure on a reader that does not read, and the order of what is pushed.
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { Store } from '../../src/store/database.js'
import { V1Push } from '../../src/v1/push.js'
import { V1Store } from '../../src/v1/store.js'
import { type V1SocketLimits, V1Sockets } from '../../src/v1/websocket.js'
import { eventually } from '../helpers/cli.js'

const TOKEN = 'tok'
let dir: string
let store: Store
let v1: V1Store
let push: V1Push
let sockets: V1Sockets
let server: Server
let url: string
const clients: WebSocket[] = []
const errors: Error[] = []

async function start(limits: Partial<V1SocketLimits>, highWater = 1024 * 1024): Promise<void> {
  push = new V1Push(store.db, { highWater }, (e) => errors.push(e))
  sockets = new V1Sockets(v1, push, TOKEN, limits)
  v1.onQueued = (id) => push.schedule(id)
  server = createServer((_req, res) => res.end())
  server.on('upgrade', (req, socket, head) => sockets.handleUpgrade(req, socket, head))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws/`
}

function connect(agent: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(`${url}${agent}?token=${TOKEN}`, options)
  clients.push(ws)
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
}

const closed = (ws: WebSocket) =>
  new Promise<{ code: number; reason: string }>((r) =>
    ws.once('close', (code, reason) => r({ code, reason: String(reason) })),
  )

const queue = (agent: string, n: number, size = 16) =>
  v1.transaction(() => {
    for (let i = 0; i < n; i++)
      v1.enqueue(agent, { type: 'knowledge_broadcast', message_id: `m${i}`, content: 'x'.repeat(size) })
  })

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawlink-v1ws-unit-'))
  store = new Store(join(dir, 'store.db'))
  v1 = new V1Store(store.db)
  v1.register({ agentId: 'a', name: 'A', capabilities: [], machine: '', description: '' })
  errors.length = 0
})

afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate()
  sockets.close()
  await new Promise<void>((r) => server.close(() => r()))
  store.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('v1 WebSocket bounds', () => {
  it('pings on its interval and drops a client that does not answer within the pong timeout', async () => {
    await start({ pingInterval: 30, pongTimeout: 200 })
    const alive = await connect('a')
    let pings = 0
    alive.on('ping', () => {
      pings += 1
    })
    const silent = await connect('a', { autoPong: false })
    const t0 = Date.now()
    const gone = await closed(silent)
    // one interval to the first ping, then the pong timeout (a later ping does not extend it)
    expect(Date.now() - t0).toBeLessThan(3_000)
    expect(gone.code).toBe(1006)
    await eventually(async () => (pings >= 3 ? true : undefined), 5_000, 10)
    expect(alive.readyState).toBe(WebSocket.OPEN)
    // the dropped one no longer counts against the agent's sockets
    await eventually(async () => (push.sockets('a').length === 1 ? true : undefined), 5_000, 10)
    expect(sockets.count()).toBe(1)
  })

  it('closes a socket that sends a frame over maxPayload (1009)', async () => {
    await start({ maxPayload: 1024 })
    const ws = await connect('a')
    const done = closed(ws)
    ws.send('x'.repeat(2048))
    expect((await done).code).toBe(1009)
  })

  it('answers client frames with an error up to a rate, then closes a flood (1008)', async () => {
    await start({ maxClientFrames: 3 })
    const ws = await connect('a')
    const got: Array<{ type: string }> = []
    ws.on('message', (d) => got.push(JSON.parse(String(d))))
    const done = closed(ws)
    for (let i = 0; i < 20; i++) ws.send('hello')
    const end = await done
    expect(end.code).toBe(1008)
    expect(end.reason).toMatch(/too many client frames/)
    expect(got.length).toBeGreaterThan(0)
    expect(got.length).toBeLessThanOrEqual(3)
    expect(got.every((m) => m.type === 'error')).toBe(true)
  })

  it('stops pushing to a reader that does not read, and resumes in order when it does', async () => {
    await start({}, 64 * 1024)
    const ws = await connect('a')
    const ids: string[] = []
    ws.on('message', (d) => ids.push(JSON.parse(String(d)).message_id))
    ws.pause()
    const total = 3000
    queue('a', total, 16 * 1024)
    const serverSide = push.sockets('a')[0]!
    await eventually(async () => (serverSide.bufferedAmount > 64 * 1024 ? true : undefined), 10_000, 10)
    // the pump stopped at the bound: at most one message past it is buffered, not its whole queue
    expect(serverSide.bufferedAmount).toBeLessThanOrEqual(64 * 1024 + 18 * 1024)
    // what is not written stays queued (for this socket, the next, or poll): most of it here
    expect(v1.queued('a')).toBeGreaterThan(total / 2)
    ws.resume()
    await eventually(async () => (ids.length === total ? true : undefined), 30_000, 20)
    expect(ids).toEqual(Array.from({ length: total }, (_, i) => `m${i}`))
    await eventually(async () => (v1.queued('a') === 0 ? true : undefined), 5_000, 10)
    expect(errors).toEqual([])
  }, 40_000)
})
