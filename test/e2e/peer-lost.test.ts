// A node killed with -9 sends no leave and no more heartbeats. Its neighbours see their links to it
// break, fail to dial it back, and tell the mesh: every member lists it stale within seconds, with the
// reason, though --stale-after is the default two minutes (issue 17: heartbeats are a rare backstop).
import { describe, expect, it } from 'vitest'
import {
  type Agent,
  agentMesh,
  cliJson,
  eventually,
  type NodeProcess,
  seesAll,
  startAgent,
} from '../helpers/cli.js'
import { cleanedUpAfterEach } from '../helpers/e2e-cleanup.js'

describe('a peer that dies', () => {
  const { dirs, procs } = cleanedUpAfterEach()

  it('is stale on every member within seconds of a kill -9, then offline, both with reason unreachable', async () => {
    const agent = agentMesh(dirs)
    const names = ['ann', 'ben', 'cat', 'dan']
    const agents: Agent[] = names.map(agent)
    // defaults but --offline-after: a suspected peer goes offline at the lesser of that and a minute
    const nodes = await Promise.all(agents.map((a) => startAgent(procs, a, ['--offline-after', '4s'])))
    await Promise.all(
      agents.map((a) =>
        seesAll(
          a.env,
          names.filter((n) => n !== a.name),
        ),
      ),
    )
    const dan = nodes[3]!
    const killedAt = Date.now()
    dan.proc.kill('SIGKILL')
    await dan.exited

    const survivors = nodes.slice(0, 3)
    const about = (n: NodeProcess, event: string) =>
      n.events.find((e) => e.event === event && e.name === 'dan') as Record<string, unknown> | undefined
    await eventually(async () => (survivors.every((n) => about(n, 'peer_stale')) ? true : undefined), 20_000)
    const staleWithin = Date.now() - killedAt
    for (const n of survivors) {
      expect(about(n, 'peer_stale')).toMatchObject({ reason: 'unreachable', from: 'online', to: 'stale' })
    }
    // nowhere near --stale-after (120 s): the suspicion did it
    expect(staleWithin).toBeLessThan(60_000)
    const [ann] = agents
    // what an agent asking the mesh sees: dan is no longer among those it can task
    const online = await cliJson<Array<{ name: string }>>(['discover'], ann!.env)
    expect(online.map((p) => p.name).sort()).toEqual(['ben', 'cat'])
    const all = await cliJson<Array<{ name: string; status: string }>>(['discover', '--all'], ann!.env)
    expect(['stale', 'offline']).toContain(all.find((p) => p.name === 'dan')?.status)

    await eventually(
      async () => (survivors.every((n) => about(n, 'peer_offline')) ? true : undefined),
      20_000,
    )
    for (const n of survivors) expect(about(n, 'peer_offline')).toMatchObject({ reason: 'unreachable' })
    // the living stay online with each other throughout
    for (const n of survivors) {
      const lost = n.events.filter((e) => ['peer_stale', 'peer_offline'].includes(String(e.event)))
      // on failure, every status change this survivor logged, with its time and reason
      const changes = n.events
        .filter((e) => String(e.event).startsWith('peer_'))
        .map((e) => `${e.time} ${e.name} ${e.from}->${e.to} ${e.reason ?? ''}`)
      expect(
        lost.map((e) => e.name),
        changes.join('\n'),
      ).toEqual(['dan', 'dan'])
    }
  }, 90_000)
})
