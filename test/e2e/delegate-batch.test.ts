// POST /v1/tasks/batch against real `clawlink node` processes: many tasks in one request share a
// group commit (the status counters show it), each gets its own outcome, and a malformed batch is
// refused whole with a clear error.
import { rmSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import type { DelegateBatchJson, EventJson, StatusJson } from '../../src/api/types.js'
import { ControlClient } from '../../src/client/control-client.js'
import { agentMesh, type NodeProcess, seesAll, startAgent } from '../helpers/cli.js'

describe('delegating a batch of tasks, end to end', () => {
  const homes: string[] = []
  const procs: NodeProcess[] = []
  const clients: ControlClient[] = []
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close()
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true })
  })

  it('delegates every task of a batch in a few commits, refuses one with a bad target alone, and refuses a malformed batch whole', async () => {
    const agent = agentMesh(homes)
    const alice = agent('alice')
    const bob = agent('bob')
    await startAgent(procs, alice)
    const b = await startAgent(procs, bob)
    await seesAll(alice.env, ['bob'])
    const a = new ControlClient(alice.api().socket, 'alice', { keepAlive: true })
    clients.push(a)

    const before = (await a.get<StatusJson>('/v1/status')).counters
    const tasks = Array.from({ length: 50 }, (_, i) => ({ to: b.peerId, task: `batch task ${i}` }))
    const { results } = await a.post<DelegateBatchJson>('/v1/tasks/batch', {
      tasks: [...tasks, { to: 'nobody-by-that-name', task: 'lost' }],
    })
    expect(results).toHaveLength(51)
    const ids = results.slice(0, 50).map((r) => ('task' in r ? r.task.id : r.error.message))
    expect(results.slice(0, 50).every((r) => 'task' in r && r.task.state === 'submitted')).toBe(true)
    expect(results[50]).toEqual({ error: { code: 'not_found', message: expect.stringContaining('nobody') } })
    const after = (await a.get<StatusJson>('/v1/status')).counters
    // one request: its 50 delegations went into the group commit together, not one commit each (the
    // rest are bob's acks arriving meanwhile, a few frames' worth)
    expect(after.commitWork - before.commitWork).toBeGreaterThanOrEqual(50)
    expect(after.commits - before.commits).toBeLessThan(20)
    expect(after.walSyncs).toBeGreaterThan(0)
    expect(after.cpuUserUs).toBeGreaterThan(0)

    // bob gets all 50
    const bobApi = new ControlClient(bob.api().socket, 'bob', { keepAlive: true })
    clients.push(bobApi)
    const got = new Set<string>()
    while (got.size < 50) {
      const events = await bobApi.get<EventJson[]>('/v1/poll?wait=10000&limit=100', { timeout: 20_000 })
      if (events.length === 0) break
      for (const e of events) got.add((e as { id: string }).id)
    }
    expect(got).toEqual(new Set(ids))

    const refused = async (body: unknown) => {
      const err = (await a.post('/v1/tasks/batch', body).catch((e: unknown) => e)) as Error
      expect(err).toBeInstanceOf(Error)
      return err.message
    }
    expect(await refused({ tasks: [] })).toContain('tasks must be an array of 1 to 1000 tasks')
    expect(await refused({ tasks: [{ task: 'no target' }] })).toContain(
      'tasks[0]: give exactly one of to and cap',
    )
    expect(await refused({ tasks: [{ to: b.peerId, task: 'x', wait: 1000 }] })).toContain(
      'unknown field wait',
    )
    // nothing of a refused batch was delegated
    expect((await a.get<unknown[]>('/v1/tasks')).length).toBe(50)
  }, 60_000)
})
