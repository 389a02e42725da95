// LinkMonitor: each link must be shown alive once an interval, by a ping either way. Two monitors on
// one in-memory link settle into one pinger (libp2p's monitor pinged from both ends); a link whose
// ping fails is aborted, and the end that was skipping notices when the peer's pings stop.
import type { Connection, StreamHandler } from '@libp2p/interface'
import { PING_PROTOCOL } from '@libp2p/ping'
import { streamPair } from '@libp2p/utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { LinkMonitor } from '../../src/core/link-monitor.js'

const INTERVAL = 60_000
const noop = () => {}

interface End {
  monitor: LinkMonitor
  connection: Connection & { aborted?: Error }
  /** pings this end sent */
  sent: number
  /** what newStream does instead of opening a stream (a dead link, an old peer) */
  fail?: () => Error
  handler?: StreamHandler
}

/** An echo, as @libp2p/ping answers. */
const echo: StreamHandler = async (stream) => {
  for await (const chunk of stream) stream.send(chunk)
  await stream.close()
}

function end(name: string, phase: number, peer: () => End): End {
  const self = { sent: 0 } as End
  const registrar = {
    getHandler: () => ({ handler: echo, options: {} }),
    handle: async (_p: string, handler: StreamHandler) => {
      self.handler = handler
    },
  }
  self.connection = {
    id: name,
    status: 'open',
    remotePeer: { toString: () => `peer-of-${name}` },
    newStream: async (protocol: string) => {
      expect(protocol).toBe(PING_PROTOCOL)
      self.sent++
      if (self.fail != null) throw self.fail()
      const [outbound, inbound] = await streamPair()
      void peer().handler!(inbound, peer().connection)
      return outbound
    },
    abort: (err: Error) => {
      self.connection.aborted = err
      ;(self.connection as { status: string }).status = 'aborted'
    },
  } as unknown as End['connection']
  self.monitor = new LinkMonitor(
    {
      connectionManager: {
        getConnections: () => (self.connection.status === 'open' ? [self.connection] : []),
      },
      registrar,
      logger: { forComponent: () => Object.assign(noop, { error: noop, trace: noop }) },
    } as never,
    { interval: INTERVAL, now: () => Date.now(), random: () => phase },
  )
  return self
}

let a: End
let b: End

beforeEach(async () => {
  vi.useFakeTimers()
  a = end('a', 0.2, () => b)
  b = end('b', 0.7, () => a)
  await a.monitor.start()
  await b.monitor.start()
})

afterEach(async () => {
  await a.monitor.stop()
  await b.monitor.stop()
  vi.useRealTimers()
})

describe('LinkMonitor', () => {
  it('pings a link once an interval in all, from the end that ticks first (not from both)', async () => {
    await vi.advanceTimersByTimeAsync(10 * INTERVAL)
    // a ticks at 0.2 of an interval, then every interval: 10 pings; b heard each within its interval
    expect(a.sent).toBe(10)
    expect(b.sent).toBe(0)
    expect(a.connection.aborted).toBeUndefined()
    expect(b.connection.aborted).toBeUndefined()
  })

  it('aborts a link whose ping fails', async () => {
    a.fail = () => new Error('stream reset')
    await vi.advanceTimersByTimeAsync(0.2 * INTERVAL)
    expect(a.connection.aborted?.message).toBe('stream reset')
  })

  it('the end that skipped pings itself once the peer stops, and finds the dead link', async () => {
    await vi.advanceTimersByTimeAsync(3 * INTERVAL)
    expect(b.sent).toBe(0)
    // a freezes: it pings no more, and b's pings get no answer
    await a.monitor.stop()
    b.fail = () => new Error('timed out')
    await vi.advanceTimersByTimeAsync(2 * INTERVAL)
    expect(b.sent).toBe(1)
    expect(b.connection.aborted?.message).toBe('timed out')
  })

  it('takes a peer without the ping protocol as alive', async () => {
    a.fail = () => Object.assign(new Error('protocol selection failed'), { name: 'UnsupportedProtocolError' })
    await vi.advanceTimersByTimeAsync(3 * INTERVAL)
    // a's one ping showed nothing to b, so b pings from then on, and a skips
    expect([a.sent, b.sent]).toEqual([1, 3])
    expect(a.connection.aborted).toBeUndefined()
    expect(b.connection.aborted).toBeUndefined()
  })
})
