// Zero-config hubs in network namespaces: subnet A (two agents) and subnet B (one agent) have no route
// between them; a hub machine with a leg in each runs `clawlink node --name hub --relay`. The agents get
// nothing but --name (and this test's mesh key and mDNS tag): mDNS on each subnet finds the hub, presence
// through it finds the rest, and agents that cannot reach the other subnet reserve a slot on the hub by
// themselves. Needs root and iproute2; skipped, with the reason printed, where they are missing.
import { execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventJson, PeerJson, TaskJson } from '../../src/api/types.js'
import {
  type Agent,
  agentMesh,
  cli,
  cliJson,
  eventually,
  type NodeProcess,
  spawnNode,
} from '../helpers/cli.js'
import { buildTopology, namespacesUnavailable, type Topology } from '../helpers/netns.js'

const skipReason = namespacesUnavailable()
if (skipReason != null) console.warn(`zero-config hub test skipped: ${skipReason}`)

describe.skipIf(skipReason != null)('two subnets joined by a zero-config hub (network namespaces)', () => {
  const dirs: string[] = []
  const procs: NodeProcess[] = []
  const agent = agentMesh(dirs)
  const [a1, a2, b1, hub] = ['a1', 'a2', 'b1', 'hub'].map((n) => agent(n)) as [Agent, Agent, Agent, Agent]
  let topo: Topology

  const names = async (a: Agent) => (await cliJson<PeerJson[]>(['discover'], a.env)).map((p) => p.name).sort()
  const start = async (a: Agent, ns: string, args: string[]) => {
    const p = await spawnNode(['--name', a.name, ...args], a.env, 30_000, { wrap: topo.exec(ns) })
    procs.push(p)
    return p
  }

  beforeAll(async () => {
    topo = buildTopology()
    // the hub machine's default route is on its A leg (as a real two-homed host has one default route):
    // its multicast leaves by A only, so subnet B finds it only through its direct answers
    execFileSync('ip', ['-n', topo.ns.r, 'route', 'add', 'default', 'dev', 'ethA'], { stdio: 'pipe' })
    await start(hub, topo.ns.r, ['--relay'])
    await start(a1, topo.ns.a1, [])
    await start(a2, topo.ns.a2, [])
    await start(b1, topo.ns.b1, [])
  }, 120_000)

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')))
    topo?.remove()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  it('agents with only --name list each other across the subnets and exchange a task', async () => {
    await eventually(async () => ((await names(a1)).join() === 'a2,b1,hub' ? true : undefined), 60_000, 500)
    await eventually(async () => ((await names(a2)).join() === 'a1,b1,hub' ? true : undefined), 60_000, 500)
    await eventually(async () => ((await names(b1)).join() === 'a1,a2,hub' ? true : undefined), 60_000, 500)
    const hubCard = (await cliJson<PeerJson[]>(['discover'], b1.env)).find((p) => p.name === 'hub')
    expect(hubCard?.hub).toBe(true)

    const waiting = cli(
      ['delegate', '--to', 'a1', '--task', 'zero config', '--wait', '60', '--json'],
      b1.env,
      {
        timeout: 70_000,
      },
    )
    const task = await eventually(
      async () =>
        (await cliJson<EventJson[]>(['poll', '--wait', '5'], a1.env)).find(
          (e) => e.type === 'task' && e.task === 'zero config',
        ),
      60_000,
    )
    expect(task).toMatchObject({ from: { name: 'b1' } })
    await cliJson<TaskJson>(['respond', '--msg-id', task.id, '--result', 'done in A'], a1.env)
    const done = await waiting
    expect(done.code, done.stderr).toBe(0)
    expect(JSON.parse(done.stdout)).toMatchObject({ state: 'completed', result: 'done in A' })
    // nobody typed the hub's address: the agents that could not reach the other subnet reserved on it
    const reserved = procs.flatMap((p) => p.events).filter((e) => e.event === 'hub_reserved')
    expect(reserved.length).toBeGreaterThan(0)
  }, 200_000)
})
