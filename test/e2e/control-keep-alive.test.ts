// Kept control connections (ControlClient keepAlive, as the MCP server and benchmarks use them)
// against real `clawlink node` processes: many calls over few connections, a long poll aborted on a
// kept connection gives its events back, and a kept client follows its node through a restart.
import { rmSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import type { EventJson, StatusJson, TaskJson } from '../../src/api/types.js'
import { keptClient } from '../../src/client/connect.js'
import { ControlClient } from '../../src/client/control-client.js'
import { type Agent, agentMesh, type NodeProcess, seesAll, startAgent } from '../helpers/cli.js'

describe('control API keep-alive, end to end', () => {
  const homes: string[] = []
  const procs: NodeProcess[] = []
  const clients: Array<{ close(): void }> = []
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close()
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true })
  })
  const kept = (agent: Agent, maxConnections: number) => {
    const c = new ControlClient(agent.api().socket, agent.name, { keepAlive: true, maxConnections })
    clients.push(c)
    return c
  }

  it('many sequential and concurrent calls over few connections; an aborted long poll gives its task back', async () => {
    const agent = agentMesh(homes)
    const alice = agent('alice')
    const bob = agent('bob')
    await startAgent(procs, alice)
    const b = await startAgent(procs, bob)
    await seesAll(alice.env, ['bob'])

    const a = kept(alice, 8)
    for (let i = 0; i < 300; i++) expect((await a.get<StatusJson>('/v1/status')).card.name).toBe('alice')
    expect(a.connectionsOpened).toBe(1)
    let next = 0
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next++ < 400) await a.get<StatusJson>('/v1/status')
      }),
    )
    expect(a.connectionsOpened).toBeLessThanOrEqual(8)

    // bob waits on a kept connection, then gives up: the node must see him leave, so that the task sent
    // next is not taken by the abandoned poll (nor written onto a connection he would read next)
    const bobApi = kept(bob, 1)
    const ac = new AbortController()
    const abandoned = bobApi.get<EventJson[]>('/v1/poll?wait=30000', { signal: ac.signal, timeout: 40_000 })
    // the node has read bob's poll by the time it answers a request that came after it
    await bob.api().get('/v1/status')
    ac.abort()
    await expect(abandoned).rejects.toThrow('the request was canceled')
    const sent = await a.post<TaskJson>('/v1/tasks', { to: b.peerId, task: 'after the abandoned poll' })
    const got = await bobApi.get<EventJson[]>('/v1/poll?wait=20000', { timeout: 30_000 })
    expect(got.map((e) => (e as { id?: string }).id)).toContain(sent.id)
    expect(bobApi.connectionsOpened).toBe(2)
  })

  it('a kept client follows its node through a restart, without an error', async () => {
    const agent = agentMesh(homes)
    const carol = agent('carol')
    const first = await startAgent(procs, carol)
    const client = keptClient({ as: 'carol' }, carol.env)
    clients.push(client)
    const api = client.get()
    expect((await api.get<StatusJson>('/v1/status')).card.name).toBe('carol')
    await first.stop('SIGTERM')
    procs.splice(procs.indexOf(first), 1)
    await startAgent(procs, carol)
    // the old connection was closed with the old node; the same client opens a new one
    expect(client.get()).toBe(api)
    expect((await api.get<StatusJson>('/v1/status')).card.name).toBe('carol')
    expect(api.connectionsOpened).toBe(2)
  })
})
