// A poll whose client confirms what it got (`lease`): its events stay held until confirmed, go out again
// when the lease runs out or the client releases them, and never twice once confirmed. The CLI polls
// this way and confirms only once it has printed. Real `clawlink node` processes and the CLI.
import { rmSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import type { EventJson, TaskJson } from '../../src/api/types.js'
import { agentMesh, cli, cliJson, type NodeProcess, seesAll, startAgent } from '../helpers/cli.js'

describe('poll with a lease, end to end', () => {
  const homes: string[] = []
  const procs: NodeProcess[] = []
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true })
  })

  it('held until confirmed, out again when the lease ends or on release; the CLI confirms what it printed', async () => {
    const agent = agentMesh(homes)
    const alice = agent('alice')
    const bob = agent('bob')
    await startAgent(procs, alice)
    let b = await startAgent(procs, bob)
    await seesAll(alice.env, ['bob'])
    const a = alice.api()
    const send = (task: string) => a.post<TaskJson>('/v1/tasks', { to: b.peerId, task })
    const poll = (query: string) => bob.api().get<EventJson[]>(`/v1/poll?${query}`, { timeout: 30_000 })
    const ids = (events: EventJson[]) => events.map((e) => (e as { id?: string }).id)

    // not confirmed: held (no other poll gets it) until the lease ends, then out again
    const t1 = await send('one')
    const leased = await poll('wait=20000&lease=1500')
    expect(ids(leased)).toEqual([t1.id])
    expect(await poll('wait=0')).toEqual([])
    expect(ids(await poll('wait=10000'))).toEqual([t1.id])

    // confirmed: seen for good, also past the lease
    const t2 = await send('two')
    const got = await poll('wait=20000&lease=1500')
    expect(ids(got)).toEqual([t2.id])
    expect(await bob.api().post('/v1/poll/confirm', { seqs: got.map((e) => e.seq) })).toEqual({ ok: true })
    expect(await poll('wait=4000')).toEqual([])

    // released: out again at once
    const t3 = await send('three')
    const lost = await poll('wait=20000&lease=60000')
    await bob.api().post('/v1/poll/release', { seqs: lost.map((e) => e.seq) })
    expect(ids(await poll('wait=0'))).toEqual([t3.id])

    // bad input is refused, and changes nothing
    await expect(poll('lease=5')).rejects.toThrow(/lease must be 1000-600000 ms/)
    for (const body of [{ seqs: [] }, { seqs: ['x'] }, { seqs: [1.5] }, { seqs: [1], more: 1 }, [1]]) {
      await expect(bob.api().post('/v1/poll/confirm', body)).rejects.toThrow(/seqs|unknown field|JSON object/)
    }

    // the CLI confirms once it has printed: a restart (which hands out what is still held) repeats nothing
    const t4 = await send('four')
    const printed = await cliJson<EventJson[]>(['poll', '--wait', '20'], bob.env)
    expect(ids(printed)).toEqual([t4.id])
    // a leased poll left unconfirmed when the node stops is handed out again after the restart
    const t5 = await send('five')
    expect(ids(await poll('wait=20000&lease=60000'))).toEqual([t5.id])
    await b.stop('SIGTERM')
    procs.splice(procs.indexOf(b), 1)
    b = await startAgent(procs, bob)
    const after = await cli(['poll', '--json'], bob.env)
    expect(after.code).toBe(0)
    expect(ids(JSON.parse(after.stdout) as EventJson[])).toEqual([t5.id])
  })
})
