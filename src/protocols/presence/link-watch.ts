// Finds peers that died, from the links to them. A link that breaks (the socket ended or was reset with
// no goodbye from the peer, or our ping to it timed out) is dialled back once after a short random wait;
// a peer that cannot be reached is reported, and presence tells the mesh (suspects in its next
// announcement). A link closed on purpose (a neighbour pruning it, a peer stopping) is never probed, so
// pruning cannot set off probes that set off pruning. Issue 17: this is what lets presence heartbeats be
// a rare backstop.
import type { Connection, PeerId } from '@libp2p/interface'
import { PROBE_DELAY, PROBE_TIMEOUT } from './constants.js'

export interface LinkWatchInit {
  /** whether the peer is a member we hold as reachable (known, not left, not already suspected) */
  worthProbing(peer: string): boolean
  /** whether an open connection to the peer exists (another link, or one made again meanwhile) */
  connected(peer: PeerId): boolean
  /** open connections in all: with none left the break is likely ours, and nobody would hear us */
  connections(): number
  /** dials the peer; rejects when it cannot be reached before `signal` aborts */
  dial(peer: PeerId, signal: AbortSignal): Promise<unknown>
  /** the peer could not be dialled back */
  unreachable(peer: PeerId): void
  delay?: number
  timeout?: number
  random?: () => number
}

/** What yamux records of a connection's end: the GoAway each side sent, if any (absent on other muxers). */
interface MuxerEnd {
  muxer?: { localGoAway?: number; remoteGoAway?: number }
}

/**
 * Whether a closed connection broke rather than being closed. A peer that closes a connection (pruning
 * it, or stopping) sends yamux's GoAway first; a killed process, a lost host or a cut cable cannot. So:
 * the peer said no goodbye, and we did not close it gracefully ourselves (an abort of ours, after a ping
 * timed out, counts as broken). Checked on the loopback: a kill -9 ends the socket with a FIN as often
 * as with a reset, so the connection's status alone (closed or aborted) does not tell.
 */
export function brokeOff(connection: Connection): boolean {
  const muxer = (connection as Connection & MuxerEnd).muxer
  if (muxer == null) return connection.status === 'aborted'
  if (muxer.remoteGoAway !== undefined) return false
  return connection.status === 'aborted' || muxer.localGoAway === undefined
}

export class LinkWatch {
  private readonly pending = new Map<string, ReturnType<typeof setTimeout>>()
  private readonly probing = new Set<string>()
  private controller = new AbortController()
  private running = false

  constructor(private readonly init: LinkWatchInit) {}

  start(): void {
    this.controller = new AbortController()
    this.running = true
  }

  stop(): void {
    this.running = false
    this.controller.abort()
    for (const timer of this.pending.values()) clearTimeout(timer)
    this.pending.clear()
  }

  /** Probes dialled back or waiting to be (for tests and diagnostics). */
  active(): number {
    return this.pending.size + this.probing.size
  }

  /** A connection closed: if it broke rather than being closed, probe its peer soon. */
  closed(connection: Connection): void {
    if (!this.running || !brokeOff(connection)) return
    const peer = connection.remotePeer
    const key = peer.toString()
    if (this.pending.has(key) || this.probing.has(key) || !this.init.worthProbing(key)) return
    const wait = Math.floor((this.init.random ?? Math.random)() * (this.init.delay ?? PROBE_DELAY))
    this.pending.set(
      key,
      setTimeout(() => {
        this.pending.delete(key)
        void this.probe(peer, key)
      }, wait),
    )
  }

  private async probe(peer: PeerId, key: string): Promise<void> {
    if (!this.running || this.init.connected(peer) || !this.init.worthProbing(key)) return
    this.probing.add(key)
    // a timer of our own rather than AbortSignal.timeout, so tests with fake timers drive it
    const deadline = new AbortController()
    const timer = setTimeout(
      () => deadline.abort(new Error('probe timed out')),
      this.init.timeout ?? PROBE_TIMEOUT,
    )
    try {
      try {
        await this.init.dial(peer, AbortSignal.any([this.controller.signal, deadline.signal]))
        return
      } catch {}
      // another neighbour's suspicion may have arrived meanwhile, or the peer called back
      if (!this.running || this.init.connected(peer) || this.init.connections() === 0) return
      if (this.init.worthProbing(key)) this.init.unreachable(peer)
    } finally {
      clearTimeout(timer)
      this.probing.delete(key)
    }
  }
}
