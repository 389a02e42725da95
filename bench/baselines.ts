// Baselines measured in the same run as ClawLink's figures: a raw TCP echo, a bare libp2p echo (TCP +
// pnet + Noise + yamux) on a new stream per message and on a long-lived stream (as the task channel
// does), and one SQLite commit with fsync (WAL, synchronous=FULL, as the node's store).
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { connect, createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'

export interface Echo {
  /** One request/response round trip of `payload`. */
  roundTrip(payload: Uint8Array): Promise<void>
  close(): Promise<void>
}

/** Length-prefixed echo over one TCP connection per worker (requests on one socket are serialized). */
export async function tcpEcho(): Promise<Echo & { connection(): Promise<Echo> }> {
  const server = createServer((socket) => socket.pipe(socket))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  const sockets: Socket[] = []
  const open = async (): Promise<Echo> => {
    const socket = connect(port, '127.0.0.1')
    socket.setNoDelay(true)
    sockets.push(socket)
    await new Promise<void>((r) => socket.once('connect', () => r()))
    return {
      roundTrip(payload) {
        return new Promise<void>((resolve) => {
          let got = 0
          const onData = (d: Buffer) => {
            got += d.length
            if (got >= payload.length) {
              socket.off('data', onData)
              resolve()
            }
          }
          socket.on('data', onData)
          socket.write(payload)
        })
      },
      async close() {
        socket.destroy()
      },
    }
  }
  const first = await open()
  return {
    roundTrip: (p) => first.roundTrip(p),
    connection: open,
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

const ECHO_PROTOCOL = '/bench/echo/1.0.0'
const LONG_ECHO_PROTOCOL = '/bench/echo-stream/1.0.0'

/** Latencies (ms) of `count` one-row SQLite commits with fsync (WAL, synchronous=FULL) in `dir`. */
export function fsyncCommits(dir: string, count: number): number[] {
  const { DatabaseSync } = createRequire(import.meta.url)('node:sqlite') as typeof import('node:sqlite')
  const db = new DatabaseSync(join(dir, 'fsync-baseline.db'))
  db.exec('PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t (x BLOB)')
  const insert = db.prepare('INSERT INTO t (x) VALUES (?)')
  const row = randomBytes(256)
  const out: number[] = []
  for (let i = 0; i < count; i++) {
    const t0 = performance.now()
    db.exec('BEGIN IMMEDIATE')
    insert.run(row)
    db.exec('COMMIT')
    out.push(performance.now() - t0)
  }
  db.close()
  return out
}

/** A bare libp2p echo: `roundTrip` opens a stream per message; `stream()` gives one that stays open. */
export async function libp2pEcho(): Promise<Echo & { stream(): Promise<Echo> }> {
  const psk = new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${randomBytes(32).toString('hex')}`)
  const make = () =>
    createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionProtector: preSharedKey({ psk }),
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
    })
  const server = await make()
  const client = await make()
  await server.handle(
    ECHO_PROTOCOL,
    async (stream) => {
      const lp = lpStream(stream)
      await lp.write(await lp.read())
      await stream.close()
    },
    { maxInboundStreams: 1024 },
  )
  await server.handle(
    LONG_ECHO_PROTOCOL,
    async (stream) => {
      const lp = lpStream(stream)
      try {
        for (;;) await lp.write(await lp.read())
      } catch {
        stream.abort(new Error('done'))
      }
    },
    { maxInboundStreams: 1024 },
  )
  await client.dial(server.getMultiaddrs()[0]!)
  return {
    async stream() {
      const stream = await client.dialProtocol(server.peerId, LONG_ECHO_PROTOCOL, {
        maxOutboundStreams: 1024,
      } as never)
      const lp = lpStream(stream)
      return {
        async roundTrip(payload) {
          await lp.write(payload)
          await lp.read()
        },
        async close() {
          await stream.close().catch(() => stream.abort(new Error('close')))
        },
      }
    },
    async roundTrip(payload) {
      const stream = await client.dialProtocol(server.peerId, ECHO_PROTOCOL, {
        maxOutboundStreams: 1024,
      } as never)
      const lp = lpStream(stream)
      await lp.write(payload)
      await lp.read()
      await stream.close()
    },
    async close() {
      await client.stop()
      await server.stop()
    },
  }
}

/** Runs `op` `count` times with `concurrency` workers; returns per-op latencies (ms) and ops/s. */
export async function load(
  count: number,
  concurrency: number,
  op: (i: number, worker: number) => Promise<void>,
): Promise<{ latencies: number[]; perSecond: number }> {
  const latencies: number[] = []
  let next = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (next < count) {
        const i = next++
        const s = performance.now()
        await op(i, worker)
        latencies.push(performance.now() - s)
      }
    }),
  )
  return { latencies, perSecond: count / ((performance.now() - t0) / 1000) }
}

/** Sends `bytes` one way over one raw TCP connection; resolves with MiB/s. */
export async function tcpBulk(bytes: number): Promise<number> {
  let received = 0
  let done: () => void = () => {}
  const finished = new Promise<void>((r) => {
    done = r
  })
  const server = createServer((socket) => {
    socket.on('data', (d: Buffer) => {
      received += d.length
      if (received >= bytes) done()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const socket = connect((server.address() as { port: number }).port, '127.0.0.1')
  await new Promise<void>((r) => socket.once('connect', () => r()))
  const chunk = randomBytes(1024 * 1024)
  const t0 = performance.now()
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r))
  }
  await finished
  const secs = (performance.now() - t0) / 1000
  socket.destroy()
  await new Promise<void>((r) => server.close(() => r()))
  return bytes / 1024 / 1024 / secs
}

/** Sends `bytes` one way over one bare libp2p stream (TCP + pnet + Noise + yamux); MiB/s. */
export async function libp2pBulk(bytes: number): Promise<number> {
  const psk = new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${randomBytes(32).toString('hex')}`)
  const make = () =>
    createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionProtector: preSharedKey({ psk }),
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
    })
  const server = await make()
  const client = await make()
  let done: () => void = () => {}
  const finished = new Promise<void>((r) => {
    done = r
  })
  await server.handle('/bench/bulk/1.0.0', async (stream) => {
    let received = 0
    for await (const d of stream) {
      received += d.byteLength
      if (received >= bytes) break
    }
    done()
  })
  const stream = await client.dialProtocol(server.getMultiaddrs()[0]!, '/bench/bulk/1.0.0')
  const chunk = randomBytes(256 * 1024)
  const t0 = performance.now()
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    if (!stream.send(chunk)) await new Promise((r) => stream.addEventListener('drain', r, { once: true }))
  }
  await finished
  const secs = (performance.now() - t0) / 1000
  await client.stop()
  await server.stop()
  return bytes / 1024 / 1024 / secs
}
