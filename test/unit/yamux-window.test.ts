// The yamux window-update patch (src/core/yamux-window.ts): an update that only returns window waits for
// half the window to be used; a stream's ACK still goes out with its first update.
import { logger } from '@libp2p/logger'
import { StreamState, YamuxStream } from '@libp2p/yamux/stream'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { holdBackWindowUpdates } from '../../src/core/yamux-window.js'

const WINDOW_UPDATE = 1 // FrameType.WindowUpdate
const ACK = 2 // Flag.ACK

function stream(state: StreamState, fail?: Error) {
  const sent: Array<{ type: number; flag: number; length: number }> = []
  const s = new YamuxStream({
    id: 'test',
    streamId: 1,
    direction: 'inbound',
    log: logger('test:yamux-window'),
    state,
    getRTT: () => -1,
    sendFrame: (header) => {
      if (fail != null) throw fail
      sent.push({ type: header.type, flag: header.flag, length: header.length })
      return true
    },
  })
  const receive = (bytes: number) =>
    (s as unknown as { handleData(frame: unknown): void }).handleData({
      header: { type: 0, flag: 0, streamID: 1, length: bytes, version: 0 },
      data: new Uint8ArrayList(new Uint8Array(bytes)),
    })
  return { s, sent, receive, updates: () => sent.filter((f) => f.type === WINDOW_UPDATE) }
}

describe('yamux window updates', () => {
  it('are held back until half the receive window is used, then return all of it', () => {
    expect(holdBackWindowUpdates()).toBe(true)
    const { receive, updates } = stream(StreamState.Established)
    for (let i = 0; i < 100; i++) receive(100) // 100 small messages, 10 KB of a 256 KB window
    expect(updates()).toEqual([])
    for (let i = 0; i < 14; i++) receive(10_000) // past half the window
    expect(updates()).toHaveLength(1)
    expect(updates()[0]!.length).toBeGreaterThanOrEqual(128 * 1024)
  })

  it('still acknowledge a new inbound stream with its first update', () => {
    holdBackWindowUpdates()
    const { s, receive, updates } = stream(StreamState.SYNReceived)
    receive(10)
    expect(updates()).toHaveLength(1)
    expect(updates()[0]!.flag & ACK).toBe(ACK)
    expect(s.state).toBe(StreamState.Established)
    receive(10)
    expect(updates()).toHaveLength(1)
  })

  it('opening a stream whose connection closed in the same tick throws nothing (it used to end the process)', () => {
    holdBackWindowUpdates()
    const closed = Object.assign(new Error('Cannot write to a stream that is closed'), {
      name: 'StreamStateError',
    })
    const { s } = stream(StreamState.Init, closed)
    expect(() => (s as unknown as { sendWindowUpdate(): void }).sendWindowUpdate()).not.toThrow()
    const other = stream(StreamState.Init, new Error('something else'))
    expect(() => (other.s as unknown as { sendWindowUpdate(): void }).sendWindowUpdate()).toThrow(
      'something else',
    )
  })
})
