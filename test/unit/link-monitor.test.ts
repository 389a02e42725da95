// LinkMonitor: each link must be shown alive once an interval, by anything it carried or else by a yamux
// ping. A link that carries traffic is never pinged; a silent one is pinged from one end or the other;
// a ping that fails aborts the connection, and a peer that freezes is found within two intervals.
import type { Connection } from '@libp2p/interface'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { LinkMonitor } from '../../src/core/link-monitor.js'

const INTERVAL = 60_000
const noop = () => {}

interface FakeMuxer {
  onData(data: unknown): void
  ping(options?: { signal?: AbortSignal }): Promise<number>
}

interface End {
  monitor: LinkMonitor
  connection: Connection & { aborted?: Error; muxer: FakeMuxer }
  /** pings this end sent */
  sent: number
  /** what the ping does instead of getting its answer (a dead link) */
  fail?: () => Error
  /** a frozen end neither sends nor answers */
  frozen?: boolean
}

/** Something arrives at `to` from its peer (a gossip frame, say). */
const deliver = (to: End) => to.connection.muxer.onData(new Uint8Array(12))

function end(name: string, phase: number, peer: () => End): End {
  const self = { sent: 0 } as End
  const muxer: FakeMuxer = {
    onData: noop,
    // a yamux ping: the SYN reaches the peer, its ACK comes back
    ping: async () => {
      self.sent++
      if (self.fail != null) throw self.fail()
      deliver(peer())
      deliver(self)
      return 10
    },
  }
  self.connection = {
    id: name,
    status: 'open',
    remotePeer: { toString: () => `peer-of-${name}` },
    muxer,
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
      logger: { forComponent: () => Object.assign(noop, { error: noop, trace: noop }) },
    } as never,
    { interval: INTERVAL, random: () => phase },
  )
  return self
}

let a: End
let b: End

beforeEach(() => {
  vi.useFakeTimers()
  a = end('a', 0.2, () => b)
  b = end('b', 0.7, () => a)
  a.monitor.start()
  b.monitor.start()
})

afterEach(() => {
  a.monitor.stop()
  b.monitor.stop()
  vi.useRealTimers()
})

/** Gossip both ways every `every` ms, until the returned function is called. */
function traffic(every: number): () => void {
  const timer = setInterval(() => {
    if (!a.frozen) deliver(b)
    if (!b.frozen) deliver(a)
  }, every)
  return () => clearInterval(timer)
}

describe('LinkMonitor', () => {
  it('never pings a link that carried something each interval', async () => {
    const stop = traffic(25_000)
    await vi.advanceTimersByTimeAsync(10 * INTERVAL)
    stop()
    expect([a.sent, b.sent]).toEqual([0, 0])
    expect(a.connection.aborted).toBeUndefined()
  })

  it('pings a silent link from one end or the other, less than once an interval in all', async () => {
    await vi.advanceTimersByTimeAsync(10 * INTERVAL)
    // a new link counts as heard; then each ping is heard by both ends (the SYN, the ACK), so the next
    // ping comes from whichever end next finds an interval without it: at 72, 162, 252 ... s
    expect([a.sent, b.sent]).toEqual([3, 3])
    expect(a.connection.aborted).toBeUndefined()
    expect(b.connection.aborted).toBeUndefined()
  })

  it('aborts a link whose ping fails', async () => {
    a.fail = () => new Error('ping timed out')
    // a's second tick (0.2 + 1 intervals) is its first without traffic
    await vi.advanceTimersByTimeAsync(1.2 * INTERVAL)
    expect(a.sent).toBe(1)
    expect(a.connection.aborted?.message).toBe('ping timed out')
  })

  it('finds a peer that froze within two intervals, though the link was busy until then', async () => {
    const stop = traffic(10_000)
    await vi.advanceTimersByTimeAsync(3 * INTERVAL)
    expect([a.sent, b.sent]).toEqual([0, 0])
    // a freezes: it sends nothing more and does not answer b's ping
    const frozeAt = Date.now()
    a.frozen = true
    a.monitor.stop()
    b.fail = () => new Error('ping timed out')
    for (let s = 0; s < 3 * 60 && b.connection.aborted == null; s++) await vi.advanceTimersByTimeAsync(1_000)
    stop()
    expect(b.sent).toBe(1)
    expect(Date.now() - frozeAt).toBeLessThanOrEqual(2 * INTERVAL)
  })

  it('does not abort a connection that closed while its ping was out', async () => {
    a.fail = () => {
      ;(a.connection as { status: string }).status = 'closed'
      return new Error('Muxer closed remotely')
    }
    await vi.advanceTimersByTimeAsync(1.2 * INTERVAL)
    expect(a.sent).toBe(1)
    expect(a.connection.aborted).toBeUndefined()
  })
})
