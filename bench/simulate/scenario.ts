// One simulation run: grow the network, time convergence, time broadcasts, count idle traffic, then
// churn (a share of the nodes leaving and coming back each minute) while broadcasting. Every phase is
// bounded in time; a phase that runs out of time is reported as such, not waited for.
import { loadavg } from 'node:os'
import type { AnnounceCounts } from './announces.ts'
import {
  broadcastFrom,
  censusAtDeadline,
  type Distribution,
  deliveries,
  type MissSummary,
  missesOf,
  round,
  type Sent,
} from './deliveries.ts'
import { type SimCore, SimNetwork, type SimNode, sample, sleep, waitFor } from './network.ts'
import type { RpcCounts } from './rpcs.ts'
import { Traffic, type TrafficSnapshot, trafficDelta } from './traffic.ts'
import { realNow } from './virtual-clock.ts'

export interface ScenarioInit {
  nodes: number
  /**
   * 'virtual': the child runs on a discrete-event clock (virtual-clock.ts) and every ms figure is
   * virtual time; 'real' (the default here): wall-clock time on this host
   */
  clock?: 'real' | 'virtual'
  latency: number
  dials: number
  /** nodes started at once */
  batch: number
  /** the longest a batch waits for its nodes to hold a connection before the next starts (0: no wait) */
  pace?: number
  convergeTimeout: number
  broadcasts: number
  /** a broadcast not seen by a node within this long counts as not delivered to it */
  deliveryTimeout: number
  idleWindow: number
  /** the idle window starts no earlier than this long (ms) after the last node started */
  idleAfter?: number
  /** 0 skips churn */
  churnWindow: number
  /** share of the nodes that leave (and come back) per minute */
  churnPerMinute: number
  /** how long a leaving node stays away */
  churnDownFor: number
  progress?: (line: string) => void
  /** the result so far, after each phase: what a run cut short by its time budget still reports */
  partial?: (result: ScenarioResult) => void
  /** how long to wait for listings to settle again after churn */
  reconvergeTimeout: number
  /** awaited as each phase ends (the child writes a CPU profile per phase there) */
  mark?: (phase: string) => Promise<void>
  /** process-wide yamux frame counts so far (frames.ts), when the census is on */
  frames?: () => Record<string, number>
  /** when set, gossipsub RPCs received are counted here (rpcs.ts) and reported per phase */
  rpcs?: RpcCounts
  /** when set, presence announcements are counted here by reason (announces.ts) and reported per phase */
  announces?: AnnounceCounts
}

export interface ScenarioResult {
  nodes: number
  /** which clock the ms figures are on */
  clock: 'real' | 'virtual'
  latencyMs: number
  dials: number
  startedNodes: number
  startFailures: string[]
  /** from the last node's start until every node lists every other; null if it did not within the timeout */
  convergeMs: number | null
  convergeFromFirstStartMs: number | null
  missingListingsAtTimeout: number
  /** the host's load average (1 min) at the start of the idle window: other work on the machine */
  loadAverage: number
  /** connections per node when everyone was listed (or at the timeout) */
  degree: { min: number; median: number; max: number; mean?: number }
  /** the same at the end of the idle window */
  degreeAfterIdle?: { min: number; median: number; max: number; mean: number }
  /** phases that finished: start, converge, broadcast, idle, churn */
  phases: string[]
  /** how long starting every node took */
  startMs: number
  /** CPU seconds (user + system) the whole process spent in each phase */
  cpuSeconds: Record<string, number>
  /** real (host) seconds each phase took, whichever clock the ms figures are on */
  realSeconds: Record<string, number>
  /** the nodes' log events per node in each phase, by name */
  eventsPerNode: Record<string, Record<string, number>>
  /** gossipsub RPCs received per node in each phase, by kind, when counted */
  gossipsubPerNode?: Record<string, Record<string, number>>
  /** presence announcements published mesh-wide in each phase, by reason, when counted (idle: the window) */
  announces?: Record<string, Record<string, number>>
  broadcast: null | {
    sent: number
    /** per (broadcast, receiver) pair */
    deliveryMs: Distribution
    /** per broadcast: until the last node had it */
    reachAllMs: Distribution
    coveragePercent: number
    /** of the deliveries in time, how many came by history sync (anti-entropy) rather than gossip */
    onTimeBySync: number
    /** the pairs not delivered in time, scored once the idle phase has begun (late ones have come in) */
    misses?: MissSummary
  }
  idle: null | {
    windowMs: number
    /** per node per minute, transport level (sent) */
    messagesPerNodeMinute: { mean: number; max: number }
    bytesPerNodeMinute: { mean: number; max: number }
    /** per node per minute, received on each protocol's streams (and streams opened), summed over the nodes and divided */
    protocolsPerNodeMinute: Record<string, { messages: number; bytes: number; streams: number }>
    /** connections opened (transport level, and libp2p's open / close events) per node per minute, each counted at both ends */
    connectionsPerNodeMinute: { transport: number; opened: number; closed: number; relayed: number }
    /** the nodes' log events per node per minute, by name */
    eventsPerNodeMinute: Record<string, number>
    /** yamux frames sent per node per minute by type and flags, when the census is on */
    framesPerNodeMinute?: Record<string, number>
    /** the whole simulation process, % of one core */
    cpuPercent: number
  }
  churn: null | {
    windowMs: number
    left: number
    rejoined: number
    broadcasts: number
    deliveryMs: Distribution
    coveragePercent: number
    onTimeBySync: number
    /** after the churn window, until every running node lists every other again; null if not in time */
    reconvergeMs: number | null
    /** the (broadcast, node) pairs not delivered in time */
    misses: MissSummary
  }
  /** real ms the run took so far */
  wallMs: number
}

function eventsPerNode(deltas: TrafficSnapshot[], perNode: (x: number) => number): Record<string, number> {
  const sum: Record<string, number> = {}
  for (const d of deltas) for (const [e, n] of Object.entries(d.events)) sum[e] = (sum[e] ?? 0) + n
  return Object.fromEntries(Object.entries(sum).map(([e, n]) => [e, perNode(n)]))
}

function totals(net: SimNetwork): TrafficSnapshot[] {
  return net.nodes.map((n) => n.traffic.snapshot())
}

export async function runScenario(core: SimCore, init: ScenarioInit): Promise<ScenarioResult> {
  const log = init.progress ?? (() => {})
  const wall0 = realNow()
  const net = new SimNetwork({
    core,
    latency: init.latency,
    dials: init.dials,
    ...(init.rpcs != null ? { rpcs: init.rpcs } : {}),
  })
  try {
    const cpuSeconds: Record<string, number> = {}
    const realSeconds: Record<string, number> = {}
    let realMark = realNow()
    const gossipsub: Record<string, Record<string, number>> = {}
    let cpuMark = process.cpuUsage()
    let rpcMark: RpcCounts = { ...init.rpcs }
    const announces: Record<string, Record<string, number>> = {}
    let announceMark: AnnounceCounts = { ...init.announces }
    const events: Record<string, Record<string, number>> = {}
    let eventMark = totals(net)
    const cpuPhase = async (name: string) => {
      const now = totals(net)
      const d = now.map((after, i) => trafficDelta(eventMark[i] ?? new Traffic().snapshot(), after))
      events[name] = eventsPerNode(d, (x) => round(x / init.nodes))
      eventMark = now
      const used = process.cpuUsage(cpuMark)
      cpuSeconds[name] = round((used.user + used.system) / 1e6, 2)
      if (init.rpcs != null) {
        const now = { ...init.rpcs }
        gossipsub[name] = Object.fromEntries(
          Object.entries(now).map(([k, v]) => [k, round((v - (rpcMark[k] ?? 0)) / init.nodes)]),
        )
        rpcMark = now
      }
      if (init.announces != null) {
        const now = { ...init.announces }
        announces[name] = Object.fromEntries(
          Object.entries(now)
            .map(([k, v]) => [k, v - (announceMark[k] ?? 0)] as const)
            .filter(([, v]) => v > 0),
        )
        announceMark = now
      }
      realSeconds[name] = round((realNow() - realMark) / 1000, 1)
      await init.mark?.(name)
      cpuMark = process.cpuUsage()
      realMark = realNow()
    }
    const t0 = performance.now()
    const cpuAtStart = process.cpuUsage()
    await net.grow(init.nodes, init.batch, init.pace ?? 0, (started) => {
      if (started % 50 !== 0 || started === init.nodes) return
      const used = process.cpuUsage(cpuAtStart)
      log(`${started} started, ${round((used.user + used.system) / 1e6, 1)} CPU s so far`)
    })
    const lastStart = performance.now()
    log(`${net.up().length} nodes started in ${Math.round(lastStart - t0)} ms`)
    await cpuPhase('start')
    // checking costs CPU but, in virtual time, no time: look more often there
    const ok = await waitFor(() => net.converged(), init.convergeTimeout, init.clock === 'virtual' ? 50 : 200)
    const convergedAt = performance.now()
    await cpuPhase('converge')
    const missing = ok ? 0 : net.missing()
    const pairs = net.up().length * (net.up().length - 1)
    log(
      ok
        ? `converged ${Math.round(convergedAt - lastStart)} ms after the last start`
        : `did not converge: ${missing} of ${pairs} listings missing`,
    )
    const degrees = net.degrees().sort((a, b) => a - b)
    const spread = (d: number[]) => ({
      min: d[0] ?? 0,
      median: d[Math.floor(d.length / 2)] ?? 0,
      max: d.at(-1) ?? 0,
      mean: round(d.reduce((a, b) => a + b, 0) / Math.max(1, d.length)),
    })
    const result: ScenarioResult = {
      nodes: init.nodes,
      clock: init.clock ?? 'real',
      latencyMs: init.latency,
      dials: init.dials,
      startedNodes: net.nodes.length - net.failures.length,
      startFailures: net.failures.slice(0, 5),
      convergeMs: ok ? Math.round(convergedAt - lastStart) : null,
      convergeFromFirstStartMs: ok ? Math.round(convergedAt - t0) : null,
      missingListingsAtTimeout: missing,
      loadAverage: round(loadavg()[0]!, 2),
      degree: spread(degrees),
      phases: ['start', ...(ok ? ['converge'] : [])],
      startMs: Math.round(lastStart - t0),
      cpuSeconds,
      realSeconds,
      eventsPerNode: events,
      ...(init.rpcs != null ? { gossipsubPerNode: gossipsub } : {}),
      ...(init.announces != null ? { announces } : {}),
      broadcast: null,
      idle: null,
      churn: null,
      wallMs: 0,
    }
    const phase = (name: string) => {
      result.phases.push(name)
      result.wallMs = Math.round(realNow() - wall0)
      init.partial?.(result)
    }
    phase('listed')

    // broadcasts, one after another, each from a random node
    const sent: Sent[] = []
    for (let i = 0; i < init.broadcasts; i++) {
      const s = await broadcastFrom(sample(net.up(), 1)[0]!, i, net.up())
      if (s == null) continue
      sent.push(s)
      const everyone = net.up().filter((n) => n !== s.author)
      const all = await waitFor(() => everyone.every((n) => n.arrivals.has(s.id)), init.deliveryTimeout, 10)
      if (!all) {
        censusAtDeadline(s, net.up())
        log(
          `broadcast ${i} missed by ${JSON.stringify(Object.fromEntries(s.atDeadline ?? []))} at its deadline`,
        )
      }
    }
    const upNow = net.up()
    const dueAt = (s: Sent) => upNow.filter((n) => n !== s.author)
    const bc = deliveries(sent, dueAt, init.deliveryTimeout)
    log(
      `broadcast delivery p99 ${bc.deliveryMs.p99} ms, coverage ${bc.coveragePercent} % (${bc.onTimeBySync} by history sync)`,
    )
    result.broadcast = { sent: sent.length, ...bc }
    await cpuPhase('broadcast')
    phase('broadcast')

    // idle: past the broadcasts' own traffic (3 s) and, when asked, until the last node to start is
    // `idleAfter` old (a node's first minute has its fast member syncs), then a window with nothing
    // asked of the nodes
    await sleep(Math.max(3_000, lastStart + (init.idleAfter ?? 0) - performance.now()))
    await cpuPhase('settle')
    if (result.broadcast != null) {
      const misses = missesOf(sent, dueAt, init.deliveryTimeout)
      result.broadcast.misses = misses
      if (misses.count > 0) log(`broadcast misses: ${JSON.stringify(misses)}`)
    }
    result.loadAverage = round(loadavg()[0]!, 2)
    const frames0 = init.frames?.()
    const before = totals(net)
    const cpu0 = process.cpuUsage()
    const i0 = performance.now()
    await sleep(init.idleWindow)
    const idleMs = performance.now() - i0
    const cpu = process.cpuUsage(cpu0)
    const deltas = totals(net).map((after, i) => trafficDelta(before[i]!, after))
    const frames1 = init.frames?.()
    result.degreeAfterIdle = spread(net.degrees().sort((a, b) => a - b))
    const perMinute = (x: number) => (x / idleMs) * 60_000
    const msgs = deltas.map((d) => perMinute(d.sent.messages))
    const bytes = deltas.map((d) => perMinute(d.sent.bytes))
    const protocols: Record<string, { messages: number; bytes: number; streams: number }> = {}
    for (const d of deltas) {
      for (const [p, c] of Object.entries(d.protocols)) {
        const acc = protocols[p] ?? { messages: 0, bytes: 0, streams: 0 }
        protocols[p] = acc
        acc.messages += perMinute(c.messages) / deltas.length
        acc.bytes += perMinute(c.bytes) / deltas.length
        acc.streams += perMinute(c.streams ?? 0) / deltas.length
      }
    }
    for (const c of Object.values(protocols)) {
      c.messages = round(c.messages)
      c.bytes = round(c.bytes, 0)
      c.streams = round(c.streams)
    }
    const perNode = (x: number) => round(perMinute(x) / deltas.length)
    const frames =
      frames0 == null || frames1 == null
        ? undefined
        : Object.fromEntries(Object.entries(frames1).map(([k, v]) => [k, perNode(v - (frames0[k] ?? 0))]))
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    result.idle = {
      windowMs: Math.round(idleMs),
      messagesPerNodeMinute: { mean: round(mean(msgs)), max: round(Math.max(...msgs)) },
      bytesPerNodeMinute: { mean: Math.round(mean(bytes)), max: Math.round(Math.max(...bytes)) },
      protocolsPerNodeMinute: protocols,
      connectionsPerNodeMinute: {
        transport: perNode(deltas.reduce((a, d) => a + d.connections, 0)),
        opened: perNode(deltas.reduce((a, d) => a + d.opened, 0)),
        closed: perNode(deltas.reduce((a, d) => a + d.closed, 0)),
        relayed: perNode(deltas.reduce((a, d) => a + d.relayed, 0)),
      },
      eventsPerNodeMinute: eventsPerNode(deltas, perNode),
      ...(frames != null ? { framesPerNodeMinute: frames } : {}),
      cpuPercent: round(((cpu.user + cpu.system) / 1000 / idleMs) * 100),
    }
    log(
      `idle: ${result.idle.messagesPerNodeMinute.mean} messages, ${result.idle.bytesPerNodeMinute.mean} bytes per node per minute`,
    )
    await cpuPhase('idle')
    phase('idle')

    if (init.churnWindow > 0) {
      result.churn = await runChurn(net, init, log)
      await cpuPhase('churn')
      phase('churn')
    }
    return result
  } finally {
    await net.close()
  }
}

/**
 * `churnPerMinute` of the nodes leave during each minute, evenly spread, each coming back (same
 * identity and store, a fresh random set of bootstrap peers) `churnDownFor` later; a broadcast every
 * second from a running node. A broadcast is due at the nodes up when it was sent that stay up until
 * its delivery timeout.
 */
async function runChurn(net: SimNetwork, init: ScenarioInit, log: (line: string) => void) {
  const leaves = Math.max(1, Math.round((net.nodes.length * init.churnPerMinute * init.churnWindow) / 60_000))
  const gap = init.churnWindow / leaves
  const downAt = new Map<SimNode, number>()
  const sent: Sent[] = []
  const returning: Promise<void>[] = []
  let left = 0
  let rejoined = 0
  const t0 = performance.now()
  let nextLeave = t0
  let nextBroadcast = t0
  let n = 0
  while (performance.now() - t0 < init.churnWindow) {
    const now = performance.now()
    if (now >= nextLeave && left < leaves) {
      nextLeave += gap
      const victim = sample(net.up(), 1)[0]
      if (victim != null) {
        left++
        downAt.set(victim, Date.now())
        void net.stop(victim)
        returning.push(
          sleep(init.churnDownFor).then(async () => {
            await net.start(victim)
            if (victim.node != null) rejoined++
          }),
        )
      }
    }
    if (now >= nextBroadcast) {
      nextBroadcast += 1_000
      const author = sample(net.up(), 1)[0]
      if (author != null) {
        const s = await broadcastFrom(author, 100_000 + n++, net.up()).catch(() => null)
        if (s != null) sent.push(s)
      }
    }
    await sleep(20)
  }
  await Promise.all(returning)
  await sleep(init.deliveryTimeout)
  const stayedUp = (node: SimNode, s: Sent) => {
    if (node.node == null || node.upSince > s.wall) return false
    const down = downAt.get(node)
    // a node that left and came back after this broadcast was sent missed part of its window
    return down == null || down > s.wall + init.deliveryTimeout || node.upSince <= s.wall
  }
  const dueAt = (s: Sent) => net.nodes.filter((m) => m !== s.author && stayedUp(m, s))
  const d = deliveries(sent, dueAt, init.deliveryTimeout)
  const misses = missesOf(sent, dueAt, init.deliveryTimeout)
  const r0 = performance.now()
  const ok = await waitFor(() => net.converged(), init.reconvergeTimeout, 200)
  log(`churn: ${left} left, ${rejoined} back; coverage ${d.coveragePercent} %, p99 ${d.deliveryMs.p99} ms`)
  return {
    windowMs: init.churnWindow,
    left,
    rejoined,
    broadcasts: sent.length,
    deliveryMs: d.deliveryMs,
    coveragePercent: d.coveragePercent,
    onTimeBySync: d.onTimeBySync,
    reconvergeMs: ok ? Math.round(performance.now() - r0) : null,
    misses,
  }
}
