// Fewer yamux window updates, and no crash on a closed one. @libp2p/yamux (8.x) answers every data
// frame it receives with a window update frame, so each small message (a gossip RPC, a ping, a presence
// card) costs the receiver one more frame and one more socket write, through Noise and pnet. Other yamux
// implementations (go-yamux, rust-yamux) send an update only once half the receive window is used; the
// protocol leaves the choice to the receiver. We do the same: an update whose only job is to return
// window is held back until at least half the window has been consumed. Updates that carry a flag (the
// ACK of a new stream) and the window growth (the library doubles the window when data arrives fast) go
// out as before, because the library's own code still decides them once the threshold is crossed. The
// patch is applied once, at node start, and checked by test/unit/yamux-window.test.ts.
//
// It also closes a crash: a new outbound stream's opening update (its SYN) is sent in a microtask
// (muxer.onCreateStream); when the connection closes in between, the write throws a StreamStateError
// outside any promise chain and the uncaught exception ended the process (seen in the 200-node
// simulation). A stream that can no longer be written has nothing left to open: that error is dropped.
import { StreamState, YamuxStream } from '@libp2p/yamux/stream'

interface WindowState {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
}

let applied = false

/** Patches YamuxStream once; returns whether the patch is in place. */
export function holdBackWindowUpdates(): boolean {
  if (applied) return true
  const proto = YamuxStream.prototype as unknown as { sendWindowUpdate?: (this: WindowState) => void }
  const original = proto.sendWindowUpdate
  if (typeof original !== 'function') return false // another version of the library: left as it is
  proto.sendWindowUpdate = function (this: WindowState) {
    // Established and SYNSent are the states in which an update carries no flag (getSendFlags)
    const flagless = this.state === StreamState.Established || this.state === StreamState.SYNSent
    if (flagless && this.recvWindowCapacity * 2 >= this.recvWindow) return
    try {
      original.call(this)
    } catch (err) {
      if ((err as Error)?.name !== 'StreamStateError') throw err
    }
  }
  applied = true
  return true
}
