// Issue 6 figures, in the namespace topology (two subnets, a relay between them): how long agents in
// two subnets take to see each other once the relay starts, delegate-to-poll latency through the relay
// beside a direct path on one subnet, and what the relay costs while it forwards.

import type { EventJson, PeerJson, TaskJson } from '../dist/api/types.js'
import { ControlClient } from '../dist/client/control-client.js'
import { dataDirPaths } from '../dist/home/paths.js'
import { ADDR, buildTopology, namespacesUnavailable } from '../test/helpers/netns.ts'
import { load } from './baselines.ts'
import {
  type BenchNode,
  cpuMs,
  median,
  percentile,
  printTable,
  round,
  rssMiB,
  saveResult,
  spawnNode,
  world,
} from './lib.ts'

const SAMPLES = Number(process.env.BENCH_RELAY_SAMPLES ?? 100)
const LOAD_TASKS = Number(process.env.BENCH_RELAY_TASKS ?? 1000)

export async function runRelayBench(): Promise<void> {
  const why = namespacesUnavailable()
  if (why != null) {
    console.log(`relay benchmark skipped: ${why}`)
    return
  }
  const topo = buildTopology()
  const w = world()
  const nodes: BenchNode[] = []
  try {
    // one kept-alive client per node: the loops below make hundreds of calls
    const clients = new Map<string, ControlClient>()
    const api = (name: string) => {
      let c = clients.get(name)
      if (c == null) {
        c = new ControlClient(dataDirPaths(`${w.home}/agents/${name}`).socket, name, { keepAlive: true })
        clients.set(name, c)
      }
      return c
    }
    const startRelay = () =>
      spawnNode(['--listen', '/ip4/0.0.0.0/tcp/4001', '--no-mdns'], w.env, undefined, {
        wrap: topo.exec(topo.ns.r),
        command: 'relay',
      })
    // learn the relay's identity, then start the agents while it is down
    const first = await startRelay()
    const relayId = first.peerId
    await first.stop()
    const agent = (name: string, ns: string, relayAddr: string) =>
      spawnNode(
        // agents here never answer, so their inboxes must hold every task the run sends
        [
          '--name',
          name,
          '--listen',
          '/ip4/0.0.0.0/tcp/4002',
          '--max-inbox',
          '1000000',
          '--relay',
          `${relayAddr}/p2p/${relayId}`,
        ],
        w.env,
        undefined,
        {
          wrap: topo.exec(ns),
        },
      )
    for (const [name, ns, addr] of [
      ['a1', topo.ns.a1, `/ip4/${ADDR.rA}/tcp/4001`],
      ['a2', topo.ns.a2, `/ip4/${ADDR.rA}/tcp/4001`],
      ['b1', topo.ns.b1, `/ip4/${ADDR.rB}/tcp/4001`],
    ] as const) {
      nodes.push(await agent(name, ns, addr))
    }
    const relayStart = Date.now()
    const relay = await startRelay()
    nodes.push(relay)
    let seenAt = 0
    for (let i = 0; i < 600 && seenAt === 0; i++) {
      const onA = await api('a1').get<PeerJson[]>('/v1/peers')
      const onB = await api('b1').get<PeerJson[]>('/v1/peers')
      if (onA.some((p) => p.name === 'b1') && onB.some((p) => p.name === 'a1')) seenAt = Date.now()
      else await new Promise((r) => setTimeout(r, 50))
    }
    if (seenAt === 0) throw new Error('the subnets did not see each other in 30 s')

    const latency = async (to: string) => {
      const toId = (await api('a1').get<PeerJson[]>('/v1/peers')).find((p) => p.name === to)!.id
      const out: number[] = []
      for (let i = 0; i < SAMPLES + 10; i++) {
        const polling = api(to).get<EventJson[]>('/v1/poll?wait=10000', { timeout: 20_000 })
        await new Promise((r) => setTimeout(r, 2))
        const t0 = performance.now()
        await api('a1').post<TaskJson>('/v1/tasks', { to: toId, task: 'x'.repeat(256) })
        if ((await polling).length !== 1) throw new Error('expected one event')
        if (i >= 10) out.push(performance.now() - t0)
      }
      return out
    }
    const direct = await latency('a2')
    const relayed = await latency('b1')

    // the relay while it forwards a stream of tasks from a1 to b1
    const pid = relay.proc.pid!
    const cpu0 = cpuMs(pid)
    const t0 = Date.now()
    const b1Id = (await api('a1').get<PeerJson[]>('/v1/peers')).find((p) => p.name === 'b1')!.id
    const sent = await load(LOAD_TASKS, 16, async () => {
      await api('a1').post('/v1/tasks', { to: b1Id, task: 'y'.repeat(1024) })
    })
    // wait until b1 has them all
    let got = 0
    while (got < LOAD_TASKS && Date.now() - t0 < 120_000)
      got += (await api('b1').get<EventJson[]>('/v1/poll?wait=1000&limit=1000')).length
    const secs = (Date.now() - t0) / 1000
    const relayCpu = ((cpuMs(pid) - cpu0) / 1000 / secs) * 100
    const rows = [
      {
        path: 'direct (same subnet)',
        'median ms': round(median(direct), 2),
        'p99 ms': round(percentile(direct, 99), 2),
      },
      {
        path: 'through the relay',
        'median ms': round(median(relayed), 2),
        'p99 ms': round(percentile(relayed, 99), 2),
      },
      {
        path: 'ratio relay / direct',
        'median ms': round(median(relayed) / median(direct), 2),
        'p99 ms': round(percentile(relayed, 99) / percentile(direct, 99), 2),
      },
    ]
    const relayRow = [
      {
        'subnets see each other after relay start ms': seenAt - relayStart,
        'tasks forwarded': got,
        'tasks/s': round(got / secs, 1),
        'delegate calls/s': round(sent.perSecond, 1),
        'relay CPU % of one core': round(relayCpu, 1),
        'relay RSS MiB': round(rssMiB(pid), 1),
      },
    ]
    printTable(`Delegate-to-poll latency, ${SAMPLES} samples (namespace topology)`, rows)
    printTable('The relay', relayRow)
    saveResult('relay', { latency: rows, relay: relayRow, samples: { direct, relayed } })
  } finally {
    await Promise.all(nodes.map((n) => n.stop()))
    topo.remove()
    w.cleanup()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runRelayBench()
