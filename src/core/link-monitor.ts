// Finds links that died silently (a frozen host, a cut cable). libp2p's connection monitor pings every
// connection from both ends each interval, with a stream each: a SYN, multistream negotiation, 32 bytes
// each way and two FINs, about eight frames per ping, each through yamux, Noise, pnet and a socket write.
// At idle that was a third of what a node of a 50-node mesh sent (issue 17). Two changes:
// - A link that carried anything during the last interval is alive: only a silent one is checked. At
//   idle, gossip crosses most links every few seconds, so most links are never pinged at all.
// - The check is a yamux ping: one 12-byte frame each way, no stream. Every yamux end answers it (the
//   protocol requires it), so older nodes need nothing new.
// A check that gets no answer within its adaptive timeout aborts the connection, which presence's
// LinkWatch then probes. A link that dies is found within two intervals plus the timeout, as before.
// @libp2p/ping stays in the stack: older nodes still ping with streams, and it answers them.
import type { AbortOptions, ComponentLogger, Connection, Logger, Startable } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { AdaptiveTimeout, type AdaptiveTimeoutInit } from '@libp2p/utils'

export interface LinkMonitorInit {
  /** how often each link must be shown alive: by anything it carried, or else by a ping */
  interval: number
  /** how long a ping may take (adaptive to each link's round trip times, above this floor) */
  pingTimeout?: AdaptiveTimeoutInit
  random?: () => number
}

export interface LinkMonitorComponents {
  connectionManager: ConnectionManager
  logger: ComponentLogger
}

/** What this monitor uses of a connection's muxer (@libp2p/yamux's YamuxMuxer). */
interface PingingMuxer {
  /** every chunk the connection receives passes here (AbstractStreamMuxer calls this.onData) */
  onData(data: unknown): void
  /** a yamux session ping; resolves with the round trip time */
  ping(options?: AbortOptions): Promise<number>
}

interface Link {
  muxer: PingingMuxer
  /** something arrived since the last tick */
  heard: boolean
}

export class LinkMonitor implements Startable {
  /** connection id → its muxer and whether it carried anything this interval */
  private readonly links = new Map<string, Link>()
  private readonly timeout: AdaptiveTimeout
  private readonly log: Logger
  private timer?: ReturnType<typeof setTimeout>
  private controller = new AbortController()
  private started = false

  constructor(
    private readonly components: LinkMonitorComponents,
    private readonly init: LinkMonitorInit,
  ) {
    this.log = components.logger.forComponent('clawlink:link-monitor')
    this.timeout = new AdaptiveTimeout(init.pingTimeout)
  }

  readonly [Symbol.toStringTag] = '@clawlink/link-monitor'

  isStarted(): boolean {
    return this.started
  }

  start(): void {
    this.controller = new AbortController()
    this.started = true
    // a random phase: the two ends of a link do not tick together, nor do all nodes of a host
    const first = Math.floor((this.init.random ?? Math.random)() * this.init.interval)
    this.timer = setTimeout(() => this.tick(), first)
  }

  stop(): void {
    this.started = false
    clearTimeout(this.timer)
    this.controller.abort()
    this.links.clear()
  }

  /** Pings every open link that carried nothing since the last tick. */
  tick(): void {
    if (!this.started) return
    const open = this.components.connectionManager.getConnections().filter((c) => c.status === 'open')
    for (const connection of open) {
      const link = this.watch(connection)
      if (link == null) continue
      if (link.heard) link.heard = false
      else void this.ping(connection, link)
    }
    const ids = new Set(open.map((c) => c.id))
    for (const id of this.links.keys()) if (!ids.has(id)) this.links.delete(id)
    this.timer = setTimeout(() => this.tick(), this.init.interval)
  }

  /**
   * The link of a connection, watched from its first tick on (a new connection counts as heard). Its
   * muxer's onData is wrapped to note arrivals: one assignment per chunk read. A connection without a
   * yamux muxer (none in our stack) is not monitored.
   */
  private watch(connection: Connection): Link | undefined {
    const known = this.links.get(connection.id)
    if (known != null) return known
    const muxer = (connection as Connection & { muxer?: Partial<PingingMuxer> }).muxer
    if (typeof muxer?.onData !== 'function' || typeof muxer.ping !== 'function') return undefined
    const link: Link = { muxer: muxer as PingingMuxer, heard: true }
    const onData = muxer.onData
    muxer.onData = function (this: PingingMuxer, data: unknown) {
      link.heard = true
      onData.call(this, data)
    }
    this.links.set(connection.id, link)
    return link
  }

  /** One yamux ping; a link that does not answer in time is aborted. */
  private async ping(connection: Connection, link: Link): Promise<void> {
    const signal = this.timeout.getTimeoutSignal({ signal: this.controller.signal })
    try {
      connection.rtt = await link.muxer.ping({ signal })
    } catch (err) {
      // stopping, or the connection closed meanwhile (a ping on a closing muxer throws): nothing to find
      if (!this.started || connection.status !== 'open') return
      this.log('ping to %p failed, aborting the connection - %e', connection.remotePeer, err)
      connection.abort(err as Error)
    } finally {
      this.timeout.cleanUp(signal)
    }
  }
}

export function linkMonitor(init: LinkMonitorInit): (components: LinkMonitorComponents) => LinkMonitor {
  return (components) => new LinkMonitor(components, init)
}
