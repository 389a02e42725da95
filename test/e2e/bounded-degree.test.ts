// Bounded degree with real processes on loopback: six nodes with --max-peers 2 all list each other from
// gossiped presence while each keeps at most two mesh connections; a task to a peer it is not connected
// to dials on demand, and that connection is closed once idle (--idle-grace).
import { rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventJson, PeerJson, StatusJson } from '../../src/api/types.js'
import { agentMesh, cliJson, eventually, type NodeProcess, seesAll, startAgent } from '../helpers/cli.js'

const NAMES = ['d1', 'd2', 'd3', 'd4', 'd5', 'd6']
const MAX = 2

describe('a mesh of six nodes with --max-peers 2', () => {
  const dirs: string[] = []
  const procs: NodeProcess[] = []
  const agent = agentMesh(dirs)
  const agents = NAMES.map((n) => agent(n))

  beforeAll(async () => {
    for (const a of agents) await startAgent(procs, a, ['--max-peers', String(MAX), '--idle-grace', '2s'])
  }, 120_000)

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()))
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  const status = (i: number) => cliJson<StatusJson>(['status'], agents[i]!.env)
  const meshPeers = (s: StatusJson) => new Set(s.connections.filter((c) => !c.onDemand).map((c) => c.peer))

  it('everyone lists everyone, and settles on at most max-peers mesh connections', async () => {
    for (const a of agents)
      await seesAll(
        a.env,
        NAMES.filter((n) => n !== a.name),
      )
    // the connections mDNS made while the mesh formed are trimmed to the ring, on-demand ones closed
    for (let i = 0; i < agents.length; i++) {
      await eventually(async () => {
        const s = await status(i)
        const peers = new Set(s.connections.map((c) => c.peer))
        return peers.size <= MAX && meshPeers(s).size >= 1 ? true : undefined
      }, 60_000)
    }
    const s = await status(0)
    expect(s.peers.maxPeers).toBe(MAX)
    expect(s.peers.online).toBe(NAMES.length - 1)
    expect(s.peers.connected).toBeLessThanOrEqual(MAX)
  }, 180_000)

  it('a task to a member it is not connected to is delivered on demand; the idle connection is then closed', async () => {
    const from = 0
    const s = await status(from)
    const connected = new Set(s.connections.map((c) => c.peer))
    const peers = await cliJson<PeerJson[]>(['discover'], agents[from]!.env)
    const target = peers.find((p) => !connected.has(p.id) && !p.connected)
    expect(target, 'with 6 nodes and 2 connections each, some member is not connected').toBeDefined()
    const to = NAMES.indexOf(target!.name)
    const seen = procs[from]!.events.length
    const sent = await cliJson<{ id: string }>(
      ['delegate', '--to', target!.name, '--task', 'sparse hello', '--json'],
      agents[from]!.env,
    )
    const task = await eventually(
      async () =>
        (await cliJson<EventJson[]>(['poll', '--wait', '2'], agents[to]!.env)).find(
          (e) => e.type === 'task' && e.task === 'sparse hello',
        ),
      30_000,
    )
    expect(task).toMatchObject({ from: { name: NAMES[from] } })
    expect(sent.id).toBeTruthy()
    // the connection opened for it goes once nothing uses it, and the node says so
    await eventually(
      async () =>
        procs[from]!.events.slice(seen).some(
          (e) => e.event === 'connection_idle_closed' && e.peer === target!.id,
        )
          ? true
          : undefined,
      60_000,
    )
    await eventually(async () => {
      const after = await status(from)
      return after.connections.some((c) => c.peer === target!.id) ? undefined : true
    }, 30_000)
  }, 120_000)
})
