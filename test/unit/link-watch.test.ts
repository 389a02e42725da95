// LinkWatch: a broken link is dialled back once, and a peer that cannot be reached is reported; a link
// closed on purpose is never probed. Fake timers: no waiting.
import type { Connection, PeerId } from '@libp2p/interface'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { LinkWatch } from '../../src/protocols/presence/link-watch.js'

const peer = (name: string) => ({ toString: () => name }) as unknown as PeerId
/** A closed connection: 'broken' ended with no goodbye from either side, 'closed' with the peer's GoAway. */
const conn = (name: string, how: 'broken' | 'closed' | 'aborted' | 'ours') =>
  ({
    remotePeer: peer(name),
    status: how === 'aborted' ? 'aborted' : 'closed',
    muxer: {
      remoteGoAway: how === 'closed' ? 0 : undefined,
      localGoAway: how === 'ours' || how === 'aborted' ? 0 : undefined,
    },
  }) as unknown as Connection

let dials: string[]
let lost: string[]
let connected: Set<string>
let open: number
let reachable: boolean
let dialResult: (signal: AbortSignal) => Promise<unknown>
let watch: LinkWatch

/** A dial that hangs until its signal aborts (a host that does not answer). */
const untilAborted = (signal: AbortSignal) =>
  new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))

function make(): LinkWatch {
  const w = new LinkWatch({
    worthProbing: () => reachable,
    connected: (p) => connected.has(p.toString()),
    connections: () => open,
    dial: async (p, signal) => {
      dials.push(p.toString())
      signal.throwIfAborted()
      return dialResult(signal)
    },
    unreachable: (p) => lost.push(p.toString()),
    delay: 1_000,
    timeout: 5_000,
    random: () => 0.5,
  })
  w.start()
  return w
}

beforeEach(() => {
  vi.useFakeTimers()
  dials = []
  lost = []
  connected = new Set()
  open = 3
  reachable = true
  dialResult = async () => {
    throw new Error('ECONNREFUSED')
  }
  watch = make()
})

afterEach(() => {
  watch.stop()
  vi.useRealTimers()
})

describe('LinkWatch', () => {
  it('dials back a peer whose link broke, after its random wait, and reports it when the dial fails', async () => {
    watch.closed(conn('bob', 'broken'))
    await vi.advanceTimersByTimeAsync(499)
    expect(dials).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(dials).toEqual(['bob'])
    expect(lost).toEqual(['bob'])
    expect(watch.active()).toBe(0)
  })

  it('never probes a link closed on purpose (pruned, or the peer stopping), by either side', async () => {
    watch.closed(conn('bob', 'closed'))
    watch.closed(conn('carol', 'ours'))
    await vi.advanceTimersByTimeAsync(2_000)
    expect(dials).toEqual([])
  })

  it('probes a link we aborted (a ping that timed out), and one that ended without a muxer goodbye', async () => {
    watch.closed(conn('carol', 'aborted'))
    watch.closed({ remotePeer: peer('dave'), status: 'aborted' } as unknown as Connection)
    watch.closed({ remotePeer: peer('erin'), status: 'closed' } as unknown as Connection)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(dials.sort()).toEqual(['carol', 'dave'])
  })

  it('reports nothing when the peer answers the dial', async () => {
    dialResult = async () => ({})
    watch.closed(conn('bob', 'broken'))
    await vi.advanceTimersByTimeAsync(1_000)
    expect(dials).toEqual(['bob'])
    expect(lost).toEqual([])
  })

  it('does not dial a peer connected again, or one already suspected or gone, by the time the wait ends', async () => {
    watch.closed(conn('bob', 'broken'))
    connected.add('bob')
    await vi.advanceTimersByTimeAsync(1_000)
    expect(dials).toEqual([])
    connected.clear()
    watch.closed(conn('carol', 'aborted'))
    reachable = false
    await vi.advanceTimersByTimeAsync(1_000)
    expect(dials).toEqual([])
  })

  it('probes a peer once however many of its links break together', async () => {
    watch.closed(conn('bob', 'broken'))
    watch.closed(conn('bob', 'broken'))
    await vi.advanceTimersByTimeAsync(1_000)
    expect(dials).toEqual(['bob'])
    expect(lost).toEqual(['bob'])
  })

  it('reports nobody when every link is gone: the break is likely our own', async () => {
    open = 0
    watch.closed(conn('bob', 'broken'))
    await vi.advanceTimersByTimeAsync(1_000)
    expect(dials).toEqual(['bob'])
    expect(lost).toEqual([])
  })

  it('gives the dial back its timeout, then reports the peer', async () => {
    dialResult = untilAborted
    watch.closed(conn('bob', 'broken'))
    await vi.advanceTimersByTimeAsync(500 + 4_999)
    expect(lost).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(lost).toEqual(['bob'])
  })

  it('stops: waiting probes are dropped and a dial in flight reports nothing', async () => {
    dialResult = untilAborted
    watch.closed(conn('bob', 'broken'))
    watch.closed(conn('carol', 'aborted'))
    await vi.advanceTimersByTimeAsync(500)
    expect(dials).toEqual(['bob', 'carol'])
    watch.stop()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(lost).toEqual([])
    watch.closed(conn('dave', 'aborted'))
    await vi.advanceTimersByTimeAsync(10_000)
    expect(dials).toEqual(['bob', 'carol'])
  })
})
