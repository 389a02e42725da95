// Counts what one simulated node sends and receives, at two levels: the transport (every write onto
// and read from a virtual link, pnet/Noise/yamux framing included) and the protocol streams (the
// bytes and reads each protocol's streams get, e.g. gossipsub RPCs or a presence exchange).
//
// libp2p hands a metrics implementation every new connection and stream; this one wraps their
// onData/sendData on the instance instead of adding 'message' listeners, because a listener would
// take the bytes before the protocol that owns the stream had attached its own. The same hook gives
// every link its latency (see delaySends).
import type { Metrics, MultiaddrConnection, Stream } from '@libp2p/interface'

export interface Counter {
  messages: number
  bytes: number
  /** streams opened (either side) */
  streams?: number
}

export class Traffic {
  /** transport writes (each a batch of frames) and their bytes */
  readonly sent: Counter = { messages: 0, bytes: 0 }
  /** transport reads and their bytes */
  readonly received: Counter = { messages: 0, bytes: 0 }
  /** per protocol: reads and bytes that arrived on its streams, and how many streams */
  readonly protocols = new Map<string, Counter>()
  /** connections this node opened or accepted (on-demand ones included), as the transport saw them */
  connections = 0
  /** libp2p's connection:open and connection:close events (the harness counts them) */
  opened = 0
  closed = 0
  /** of those opened, through a relay */
  relayed = 0
  /** the node's log events by name (the harness's silent log counts them) */
  readonly events: Record<string, number> = {}

  snapshot(): TrafficSnapshot {
    return {
      sent: { ...this.sent },
      received: { ...this.received },
      protocols: Object.fromEntries([...this.protocols].map(([p, c]) => [p, { ...c }])),
      connections: this.connections,
      opened: this.opened,
      closed: this.closed,
      relayed: this.relayed,
      events: { ...this.events },
    }
  }

  /**
   * A libp2p `metrics` factory that feeds this counter and delays what the node sends on every link by
   * `latency` ms; every other metric is a no-op.
   */
  metrics(latency: number): () => Metrics {
    const traffic = this
    const noop = () => noopMetric
    return () =>
      ({
        trackMultiaddrConnection(maConn: MultiaddrConnection) {
          traffic.connections++
          wrap(maConn, traffic.received, traffic.sent)
          if (latency > 0) delaySends(maConn, latency)
        },
        trackProtocolStream(stream: Stream) {
          const protocol = stream.protocol ?? 'unknown'
          let c = traffic.protocols.get(protocol)
          if (c == null) {
            c = { messages: 0, bytes: 0, streams: 0 }
            traffic.protocols.set(protocol, c)
          }
          c.streams = (c.streams ?? 0) + 1
          wrap(stream, c)
        },
        registerMetric: noop,
        registerMetricGroup: noop,
        registerCounter: noop,
        registerCounterGroup: noop,
        registerHistogram: noop,
        registerHistogramGroup: noop,
        registerSummary: noop,
        registerSummaryGroup: noop,
        traceFunction: (_name: string, fn: unknown) => fn,
        createTrace: () => undefined,
      }) as unknown as Metrics
  }
}

export interface TrafficSnapshot {
  sent: Counter
  received: Counter
  protocols: Record<string, Counter>
  connections: number
  opened: number
  closed: number
  relayed: number
  events: Record<string, number>
}

/** `after - before`, field by field. */
export function trafficDelta(before: TrafficSnapshot, after: TrafficSnapshot): TrafficSnapshot {
  const d = (a: Counter, b: Counter | undefined): Counter => ({
    messages: a.messages - (b?.messages ?? 0),
    bytes: a.bytes - (b?.bytes ?? 0),
    ...(a.streams != null ? { streams: a.streams - (b?.streams ?? 0) } : {}),
  })
  return {
    sent: d(after.sent, before.sent),
    received: d(after.received, before.received),
    protocols: Object.fromEntries(
      Object.entries(after.protocols).map(([p, c]) => [p, d(c, before.protocols[p])]),
    ),
    connections: after.connections - before.connections,
    opened: after.opened - before.opened,
    closed: after.closed - before.closed,
    relayed: after.relayed - before.relayed,
    events: Object.fromEntries(
      Object.entries(after.events).map(([e, n]) => [e, n - (before.events[e] ?? 0)]),
    ),
  }
}

const noopMetric = new Proxy(() => {}, {
  // any method of any metric kind (update, increment, timer, ...) does nothing and returns a no-op
  get: () => () => () => {},
})

interface Data {
  byteLength: number
}
interface Wrappable {
  onData(data: Data): void
  sendData(data: Data): unknown
}

function wrap(target: unknown, received: Counter, sent?: Counter): void {
  const t = target as Wrappable
  const onData = t.onData.bind(t)
  t.onData = (data) => {
    received.messages++
    received.bytes += data.byteLength
    onData(data)
  }
  if (sent == null) return
  const sendData = t.sendData.bind(t)
  t.sendData = (data) => {
    sent.messages++
    sent.bytes += data.byteLength
    return sendData(data)
  }
}

interface Sender {
  sendData(data: Data): unknown
  sendClose(options?: unknown): Promise<void>
  sendReset(err?: unknown): void
}

/**
 * A link with latency: what the node writes reaches the other end `latency` ms later, in order, however
 * much is in flight. @libp2p/memory's own `latency` option waits that long for each buffer in turn, so a
 * link carries at most 1000/latency buffers a second and queues build up under load (a 20-node mesh did
 * not converge in 40 s with it at 5 ms, and did at once without it).
 */
export function delaySends(target: unknown, latency: number): void {
  const t = target as Sender
  const queue: Array<{ at: number; run: () => void }> = []
  let timer: ReturnType<typeof setTimeout> | undefined
  const flush = () => {
    timer = undefined
    const now = performance.now()
    while (queue.length > 0 && queue[0]!.at <= now + 0.5) queue.shift()!.run()
    if (queue.length > 0) timer = setTimeout(flush, queue[0]!.at - now)
  }
  const later = (run: () => void) => {
    queue.push({ at: performance.now() + latency, run })
    if (timer == null) timer = setTimeout(flush, latency)
  }
  const sendData = t.sendData.bind(t)
  const sendClose = t.sendClose.bind(t)
  const sendReset = t.sendReset.bind(t)
  t.sendData = (data) => {
    later(() => sendData(data))
    return { sentBytes: data.byteLength, canSendMore: true }
  }
  // a close or reset must not overtake the data sent before it
  t.sendClose = (options) =>
    new Promise((resolve, reject) => later(() => sendClose(options).then(resolve, reject)))
  t.sendReset = (err) => later(() => sendReset(err))
}
