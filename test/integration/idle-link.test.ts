// What an idle connection carries (issue 17): each frame costs a node CPU (yamux, Noise, pnet, a socket
// write), so a link should carry nothing just to show it is alive when its traffic already does. The
// link monitor pings (a yamux ping) only a link that carried nothing for a minute; presence heartbeats
// cross this one every 30 s, so it is never pinged. libp2p's monitor opened a /ipfs/ping stream from
// each side every 10 s.
// yamux's keep-alive (a session ping frame each 30 s per side) never closed anything; it now pings once
// at the start, which measures the round trip time a stream's receive window needs to grow, and then
// every 10 minutes. Two real nodes over the simulation's in-memory link, ten minutes of virtual time.
import { afterEach, describe, expect, it } from 'vitest'
import { type SimCore, SimNetwork, sleep, waitFor } from '../../bench/simulate/network.js'
import * as core from '../../src/core/index.js'
import { encodeKeyFile, generateKey } from '../../src/home/mesh-key.js'
import { SimFixture } from '../helpers/sim.js'

const CORE: SimCore = { ...core, encodeKeyFile, generateKey }
/** yamux's frame type for a session ping (RFC of the yamux spec: 0x2) */
const PING_FRAME = 2

interface Muxer {
  sendFrame(header: { type: number }, data?: unknown): unknown
  /** the round trip time yamux measured, -1 before its first ping */
  rtt: number
}

describe('an idle link', () => {
  const sim = new SimFixture()
  afterEach(() => sim.cleanup())

  it('carries no link monitor pings while heartbeats cross it, and yamux pings only to measure the round trip time', async () => {
    sim.virtualTime()
    const net = await sim.form(
      async () => {
        const net = new SimNetwork({ core: CORE, latency: 5, dials: 1 })
        await net.grow(2, 1)
        return net
      },
      (net) => waitFor(() => net.converged(), 30_000),
      (net) => `the two nodes did not list each other: ${net.missing()} listings missing`,
    )
    const frames = { keepAlive: 0, pingStreams: 0 }
    const muxers = net
      .up()
      .map((n) => (n.node!.libp2p.getConnections()[0]! as unknown as { muxer: Muxer }).muxer)
    // measured at the start: 2 × 5 ms over the virtual link
    expect(await waitFor(() => muxers.every((m) => m.rtt >= 0), 10_000)).toBe(true)
    for (const muxer of muxers) {
      const send = muxer.sendFrame.bind(muxer)
      muxer.sendFrame = (header, data) => {
        if (header.type === PING_FRAME) frames.keepAlive++
        return send(header, data)
      }
    }
    const pings = () =>
      net.up().reduce((sum, n) => sum + (n.traffic.protocols.get('/ipfs/ping/1.0.0')?.streams ?? 0), 0)
    const before = pings()
    await sleep(10 * 60_000)
    frames.pingStreams = pings() - before
    // no /ipfs/ping streams (the old monitor sent one a minute; libp2p's 40 in ten minutes)
    expect(frames.pingStreams).toBe(0)
    // no monitor pings on a link that carries heartbeats, and at most one keep-alive round (a ping and
    // its answer from each side) in ten minutes; 76 frames at yamux's default
    expect(frames.keepAlive).toBeLessThanOrEqual(4)
    expect(net.up().map((n) => n.node!.libp2p.getConnections().length)).toEqual([1, 1])
  }, 120_000)
})
