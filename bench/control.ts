// The control API's cost per request, beside a raw Unix-socket echo in the same run: GET /v1/status
// on a new connection per request (a CLI call) and on kept connections (keep-alive: the MCP server,
// benchmarks), and POST /v1/tasks to a peer on kept connections.
import { connect, createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { ControlClient } from '../dist/client/control-client.js'
import { dataDirPaths } from '../dist/home/paths.js'
import { load } from './baselines.ts'
import { median, percentile, printTable, round, saveResult, spawnNode, world } from './lib.ts'

const REQUESTS = Number(process.env.BENCH_CONTROL_REQUESTS ?? 2000)
const IN_FLIGHT = 16
const PAYLOAD = 'x'.repeat(256)

/** An echo server on a Unix socket: what one request/answer costs with no HTTP and no node behind it. */
async function unixEcho(path: string) {
  const server: Server = createServer((s) => s.pipe(s))
  await new Promise<void>((r) => server.listen(path, r))
  const sockets: Socket[] = []
  const open = async () => {
    const socket = connect(path)
    sockets.push(socket)
    await new Promise<void>((r) => socket.once('connect', () => r()))
    return socket
  }
  const roundTrip = (socket: Socket, payload: Buffer) =>
    new Promise<void>((resolve) => {
      let got = 0
      const onData = (d: Buffer) => {
        got += d.length
        if (got < payload.length) return
        socket.off('data', onData)
        resolve()
      }
      socket.on('data', onData)
      socket.write(payload)
    })
  return {
    open,
    roundTrip,
    async once(payload: Buffer) {
      const s = await open()
      await roundTrip(s, payload)
      s.destroy()
    },
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

type Op = (i: number, worker: number) => Promise<void>

/** Median and p99 one at a time, then requests/s with IN_FLIGHT at once. */
async function measure(path: string, one: Op, many: Op = one) {
  await load(Math.min(200, REQUESTS), 1, one) // warm up
  const seq = await load(REQUESTS, 1, one)
  const par = await load(REQUESTS, IN_FLIGHT, many)
  return {
    path,
    'median ms': round(median(seq.latencies), 3),
    'p99 ms': round(percentile(seq.latencies, 99), 3),
    'req/s, 1 in flight': round(seq.perSecond),
    [`req/s, ${IN_FLIGHT} in flight`]: round(par.perSecond),
  }
}

export async function runControlBench(): Promise<void> {
  const w = world()
  // e.g. BENCH_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the nodes under this load
  if (process.env.BENCH_NODE_OPTIONS != null) w.env.NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS
  const listen = ['--listen', '/ip4/127.0.0.1/tcp/0']
  const a = await spawnNode(['--name', 'ctl-a', ...listen], w.env)
  const b = await spawnNode(
    ['--name', 'ctl-b', '--max-inbox', '1000000', '--task-rate', '1000000', ...listen],
    w.env,
  )
  const echo = await unixEcho(join(w.home, 'echo.sock'))
  const socket = dataDirPaths(`${w.home}/agents/ctl-a`).socket
  const oneShot = new ControlClient(socket, 'ctl-a')
  const kept = new ControlClient(socket, 'ctl-a', { keepAlive: true, maxConnections: IN_FLIGHT })
  try {
    await a.waitEvent((e) => e.event === 'peer_online')
    const payload = Buffer.from(PAYLOAD)
    const echoOne = await echo.open()
    const echoConns = await Promise.all(Array.from({ length: IN_FLIGHT }, () => echo.open()))
    const rows = [
      await measure(
        'raw Unix-socket echo, kept connection',
        () => echo.roundTrip(echoOne, payload),
        (_i, k) => echo.roundTrip(echoConns[k]!, payload),
      ),
      await measure('raw Unix-socket echo, new connection each', () => echo.once(payload)),
      await measure('GET /v1/status, new connection each (CLI)', () => oneShot.get('/v1/status')),
      await measure('GET /v1/status, keep-alive', () => kept.get('/v1/status')),
      await measure('POST /v1/tasks to a peer, keep-alive', () =>
        kept.post('/v1/tasks', { to: b.peerId, task: PAYLOAD }),
      ),
    ]
    printTable(`Control API, ${REQUESTS} requests each (one node process, its Unix socket)`, rows)
    saveResult('control', { requests: REQUESTS, inFlight: IN_FLIGHT, rows })
  } finally {
    kept.close()
    await Promise.all([a.stop(), b.stop(), echo.close()])
    w.cleanup()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runControlBench()
