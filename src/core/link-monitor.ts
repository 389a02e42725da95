// Finds links that died silently (a frozen host, a cut cable): libp2p's connection monitor with one
// change that halves what it costs an idle node (issue 17). libp2p's monitor pings every connection from
// both ends each interval: a stream each (multistream negotiation, 32 bytes each way, closes), two per
// link. Here an end that its peer pinged within the interval skips its own ping: the peer's ping and our
// answer showed the link works both ways. The ends settle into one pinger per link (whichever end ticks
// first), and each end still finds a dead link within two intervals plus the timeout; a ping that fails
// aborts the connection, which presence's LinkWatch then probes. @libp2p/ping (the `ping` service,
// started before this one) answers pings; this monitor sends them, as libp2p's own monitor does, and
// notes each answer to the peer's ping, so older nodes and this one ping each other as before.
import type { ComponentLogger, Connection, Logger, Startable, Stream, StreamHandler } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { PING_PROTOCOL } from '@libp2p/ping'
import { AdaptiveTimeout, type AdaptiveTimeoutInit, byteStream } from '@libp2p/utils'

/** The bytes of one ping, each way (libp2p's ping protocol; @libp2p/ping does not export its constant). */
const PING_LENGTH = 32

export interface LinkMonitorInit {
  /** how often each link must be shown alive, by our ping or the peer's */
  interval: number
  /** how long a ping may take (adaptive to each link's round trip times, above this floor) */
  pingTimeout?: AdaptiveTimeoutInit
  now?: () => number
  random?: () => number
}

/** The `ping` service (@libp2p/ping) must be declared before this one: its handler is wrapped at start. */
export interface LinkMonitorComponents {
  connectionManager: ConnectionManager
  registrar: Registrar
  logger: ComponentLogger
}

export class LinkMonitor implements Startable {
  /** connection id → when its peer last pinged us (and got its answer) */
  private readonly pingedAt = new Map<string, number>()
  private readonly timeout: AdaptiveTimeout
  private readonly log: Logger
  private readonly now: () => number
  private timer?: ReturnType<typeof setTimeout>
  private controller = new AbortController()
  private started = false
  private restore?: () => Promise<void>

  constructor(
    private readonly components: LinkMonitorComponents,
    private readonly init: LinkMonitorInit,
  ) {
    this.log = components.logger.forComponent('clawlink:link-monitor')
    this.timeout = new AdaptiveTimeout(init.pingTimeout)
    this.now = init.now ?? Date.now
  }

  readonly [Symbol.toStringTag] = '@clawlink/link-monitor'

  isStarted(): boolean {
    return this.started
  }

  async start(): Promise<void> {
    await this.observeAnswers()
    this.controller = new AbortController()
    this.started = true
    // a random phase: two ends started together do not tick together, so one of them skips
    const first = Math.floor((this.init.random ?? Math.random)() * this.init.interval)
    this.timer = setTimeout(() => this.tick(), first)
  }

  async stop(): Promise<void> {
    this.started = false
    clearTimeout(this.timer)
    this.controller.abort()
    await this.restore?.()
  }

  /** Pings every open link its peer has not pinged within the interval. */
  tick(): void {
    if (!this.started) return
    const now = this.now()
    const open = this.components.connectionManager.getConnections().filter((c) => c.status === 'open')
    for (const connection of open) {
      const heard = this.pingedAt.get(connection.id)
      if (heard == null || now - heard >= this.init.interval) void this.ping(connection)
    }
    const ids = new Set(open.map((c) => c.id))
    for (const id of this.pingedAt.keys()) if (!ids.has(id)) this.pingedAt.delete(id)
    this.timer = setTimeout(() => this.tick(), this.init.interval)
  }

  /** One ping; a link that does not answer in time is aborted (a peer that lacks the protocol is alive). */
  private async ping(connection: Connection): Promise<void> {
    const signal = this.timeout.getTimeoutSignal({ signal: this.controller.signal })
    let stream: Stream | undefined
    try {
      stream = await connection.newStream(PING_PROTOCOL, { signal, runOnLimitedConnection: true })
      const bytes = byteStream(stream)
      const sent = crypto.getRandomValues(new Uint8Array(PING_LENGTH))
      const start = this.now()
      const [, echo] = await Promise.all([
        bytes.write(sent, { signal }),
        bytes.read({ bytes: PING_LENGTH, signal }),
      ])
      if (Buffer.compare(echo.subarray(), sent) !== 0) throw new Error('ping answered with other bytes')
      connection.rtt = this.now() - start
      await stream.close({ signal })
    } catch (err) {
      stream?.abort(err as Error)
      if ((err as Error).name === 'UnsupportedProtocolError' || !this.started) return
      this.log('ping to %p failed, aborting the connection - %e', connection.remotePeer, err)
      connection.abort(err as Error)
    } finally {
      this.timeout.cleanUp(signal)
    }
  }

  /** Wraps the ping service's answer (@libp2p/ping's handler) to note that the link was shown alive. */
  private async observeAnswers(): Promise<void> {
    const { registrar } = this.components
    const { handler, options } = registrar.getHandler(PING_PROTOCOL)
    const observed: StreamHandler = async (stream, connection) => {
      await handler(stream, connection)
      this.pingedAt.set(connection.id, this.now())
    }
    this.restore = () => registrar.handle(PING_PROTOCOL, handler, { ...options, force: true })
    await registrar.handle(PING_PROTOCOL, observed, { ...options, force: true })
  }
}

export function linkMonitor(init: LinkMonitorInit): (components: LinkMonitorComponents) => LinkMonitor {
  return (components) => new LinkMonitor(components, init)
}
