// Tasks between real `clawlink node` processes: round trips through the CLI, store-and-forward while
// the receiver is down, and kill -9 of either side in the middle of a burst.
import { rmSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import type { EventJson, PeerJson, TaskJson } from '../../src/api/types.js'
import {
  type Agent,
  agentMesh,
  cli,
  cliJson,
  eventually,
  type NodeProcess,
  startAgent,
} from '../helpers/cli.js'

describe('tasks between agents, end to end', () => {
  const homes: string[] = []
  const procs: NodeProcess[] = []
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true })
  })
  const mesh = () => agentMesh(homes)
  const start = (agent: Agent, extra: string[] = []) => startAgent(procs, agent, extra)

  async function sees(env: NodeJS.ProcessEnv, name: string): Promise<PeerJson> {
    return eventually(async () => (await cliJson<PeerJson[]>(['discover'], env)).find((p) => p.name === name))
  }

  it('delegate → poll → respond → poll round trip through the CLI; --wait returns on the event', async () => {
    const agent = mesh()
    const alice = agent('alice')
    const bob = agent('bob')
    await start(alice)
    await start(bob, ['--caps', 'tests'])
    await sees(alice.env, 'bob')

    // bob is already waiting when the task is sent: his poll returns with it, long before its 30 s
    const waiting = cli(['poll', '--wait', '30', '--json'], bob.env, { timeout: 40_000 })
    await new Promise((r) => setTimeout(r, 300))
    const sent = await cliJson<TaskJson>(
      [
        'delegate',
        '--to',
        'bob',
        '--task',
        'run the unit tests',
        '--context',
        '{"repo":"clawlink","n":3}',
        '--priority',
        'high',
      ],
      alice.env,
    )
    const t0 = Date.now()
    expect(sent).toMatchObject({
      direction: 'sent',
      state: 'submitted',
      to: { name: 'bob' },
      priority: 'high',
    })
    const polled = await waiting
    expect(Date.now() - t0).toBeLessThan(10_000)
    const events = JSON.parse(polled.stdout) as EventJson[]
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      type: 'task',
      id: sent.id,
      from: { name: 'alice', id: sent.from.id },
      to: { name: 'bob' },
      task: 'run the unit tests',
      context: { repo: 'clawlink', n: 3 },
      priority: 'high',
      state: 'delivered',
    })
    // seen once: a second poll is empty
    expect(await cliJson<EventJson[]>(['poll'], bob.env)).toEqual([])
    // the ack may still be on its way back to alice
    await eventually(async () =>
      (await cliJson<TaskJson[]>(['tasks', '--id', sent.id], alice.env))[0]!.state === 'delivered'
        ? true
        : undefined,
    )

    expect(
      (
        await cliJson<TaskJson>(
          ['respond', '--msg-id', sent.id, '--status', 'in_progress', '--result', 'on it'],
          bob.env,
        )
      ).state,
    ).toBe('working')
    const done = await cliJson<TaskJson>(
      ['respond', '--msg-id', sent.id, '--result', '42 passed', '--to', 'alice'],
      bob.env,
    )
    expect(done.state).toBe('completed')

    const updates = await eventually(async () => {
      const got = await cliJson<EventJson[]>(['poll', '--peek'], alice.env)
      return got.some((e) => e.state === 'completed') ? got : undefined
    })
    expect(updates.map((e) => [e.type, e.state, e.result])).toEqual([
      ['task_update', 'working', 'on it'],
      ['task_update', 'completed', '42 passed'],
    ])
    expect(updates[1]!.from).toMatchObject({ name: 'bob' })

    // delegate --wait by capability returns the moment bob answers
    const waited = cli(
      ['delegate', '--cap', 'tests', '--task', 'again', '--wait', '60', '--json'],
      alice.env,
      { timeout: 70_000 },
    )
    const incoming = await eventually(async () => (await cliJson<EventJson[]>(['poll'], bob.env))[0])
    const answered = Date.now()
    await cliJson<TaskJson>(
      ['respond', '--msg-id', incoming.id, '--result', 'nope', '--status', 'failed'],
      bob.env,
    )
    const final = await waited
    expect(Date.now() - answered).toBeLessThan(10_000)
    expect(final.code).toBe(0)
    expect(JSON.parse(final.stdout)).toMatchObject({ id: incoming.id, state: 'failed', result: 'nope' })

    // the final state is final
    const again = await cli(['respond', '--msg-id', incoming.id, '--result', 'changed my mind'], bob.env)
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('already failed')
  })

  it('a task sent while the receiver is down arrives when it starts, with no command repeated', async () => {
    const agent = mesh()
    const alice = agent('alice')
    const bob = agent('bob')
    const aliceProc = await start(alice)
    const bobProc = await start(bob)
    await sees(alice.env, 'bob')
    await bobProc.stop('SIGTERM')

    const sent = await cliJson<TaskJson>(
      ['delegate', '--to', 'bob', '--task', 'while you were out'],
      alice.env,
    )
    expect(sent.state).toBe('submitted')
    // alice tried and failed (bob is down): the task waits in her outbox
    await eventually(
      async () =>
        aliceProc.events.some((e) => e.event === 'delivery_failed' && e.task === sent.id) ? true : undefined,
      20_000,
    )
    expect((await cliJson<TaskJson[]>(['tasks', '--id', sent.id], alice.env))[0]!.state).toBe('submitted')

    await start(bob)
    // on a loaded host, finding each other again (mDNS) and reopening the channel can take a while
    const events = await eventually(async () => {
      const got = await cliJson<EventJson[]>(['poll', '--wait', '5'], bob.env)
      return got.length > 0 ? got : undefined
    }, 40_000)
    expect(events.map((e) => [e.id, e.task])).toEqual([[sent.id, 'while you were out']])
    await eventually(async () =>
      (await cliJson<TaskJson[]>(['tasks', '--id', sent.id], alice.env))[0]!.state === 'delivered'
        ? true
        : undefined,
    )
  }, 60_000)

  it('kill -9 of the receiver in a burst of 500: after a restart each task is in its inbox exactly once', async () => {
    const agent = mesh()
    const alice = agent('alice')
    const bob = agent('bob')
    await start(alice)
    let bobProc = await start(bob)
    const bobId = bobProc.peerId
    await sees(alice.env, 'bob')

    const api = alice.api()
    const ids: string[] = []
    for (let i = 0; i < 500; i++) {
      const t = await api.post<TaskJson>('/v1/tasks', { to: bobId, task: `task ${i}` })
      ids.push(t.id)
      if (i === 150) {
        bobProc.proc.kill('SIGKILL')
        await bobProc.exited
      }
    }
    bobProc = await start(bob)
    // every task delivered (acked) from alice's side; if not, the failure says how far it got
    await eventually(
      async () => {
        const open = await api.get<TaskJson[]>('/v1/tasks?open=1')
        const delivered = open.filter((t) => t.state === 'delivered').length
        if (delivered === 500 && open.length === 500) return true
        throw new Error(`${delivered} of ${open.length} open tasks delivered`)
      },
      60_000,
      250,
    )
    const events = await bob.api().get<EventJson[]>('/v1/poll?limit=1000')
    const got = events.map((e) => e.id)
    expect(got).toHaveLength(500)
    expect(new Set(got).size).toBe(500)
    expect(new Set(got)).toEqual(new Set(ids))
    expect(await bob.api().get<EventJson[]>('/v1/poll?limit=1000')).toEqual([])
    expect(await bob.api().get<TaskJson[]>('/v1/tasks?open=1')).toHaveLength(500)
  }, 120_000)

  it('kill -9 of the delegator with tasks in its outbox: after a restart all are delivered exactly once', async () => {
    const agent = mesh()
    const alice = agent('alice')
    const bob = agent('bob')
    let aliceProc = await start(alice)
    const bobProc = await start(bob)
    await sees(alice.env, 'bob')

    const api = alice.api()
    const ids: string[] = []
    // half while bob is reachable, then bob stops so the rest pile up in the outbox
    for (let i = 0; i < 300; i++) {
      if (i === 150) await bobProc.stop('SIGKILL')
      ids.push((await api.post<TaskJson>('/v1/tasks', { to: 'bob', task: `job ${i}` })).id)
    }
    aliceProc.proc.kill('SIGKILL')
    await aliceProc.exited
    await start(bob)
    aliceProc = await start(alice)
    await eventually(
      async () => {
        const open = await api.get<TaskJson[]>('/v1/tasks?open=1')
        return open.length === 300 && open.every((t) => t.state === 'delivered') ? true : undefined
      },
      60_000,
      250,
    )
    const events = await bob.api().get<EventJson[]>('/v1/poll?limit=1000')
    expect(events.map((e) => e.id).sort()).toEqual([...ids].sort())
    expect(await bob.api().get<TaskJson[]>('/v1/tasks')).toHaveLength(300)
  }, 120_000)

  it('delegate --id is idempotent: repeating a request cut short returns its task, never a second one', async () => {
    const agent = mesh()
    const alice = agent('alice')
    const bob = agent('bob')
    await start(alice)
    await start(bob)
    await sees(alice.env, 'bob')
    const args = ['delegate', '--to', 'bob', '--task', 'index the docs', '--id', 'index-docs-0001']
    const first = await cliJson<TaskJson>(args, alice.env)
    expect(first.id).toBe('index-docs-0001')
    const again = await cliJson<TaskJson>(args, alice.env)
    expect(again.id).toBe(first.id)
    expect(again.createdAt).toBe(first.createdAt)
    const polled = await cliJson<EventJson[]>(['poll', '--wait', '10'], bob.env)
    expect(polled.map((e) => e.id)).toEqual(['index-docs-0001'])
    expect(await cliJson<EventJson[]>(['poll', '--wait', '1'], bob.env)).toEqual([])
    expect((await cliJson<TaskJson[]>(['tasks'], alice.env)).length).toBe(1)

    const other = await cli(
      ['delegate', '--to', 'bob', '--task', 'something else', '--id', 'index-docs-0001'],
      alice.env,
    )
    expect(other.code).toBe(1)
    expect(other.stderr).toContain('already used by another task')
    const bad = await cli(['delegate', '--to', 'bob', '--task', 'x', '--id', 'no spaces!'], alice.env)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--id must be')
  })

  it('bad input gets a clear error and a non-zero exit', async () => {
    const agent = mesh()
    const alice = agent('alice')
    const bob = agent('bob')
    await start(alice, ['--max-task-size', '2048'])
    await start(bob)
    await sees(alice.env, 'bob')

    const unknown = await cli(['delegate', '--to', 'nobody', '--task', 'x'], alice.env)
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/no agent "nobody"; known agents:/)
    expect(unknown.stderr).toContain('bob')

    const badContext = await cli(['delegate', '--to', 'bob', '--task', 'x', '--context', '{nope'], alice.env)
    expect(badContext.code).toBe(2)
    expect(badContext.stderr).toContain('--context is not valid JSON')

    const big = await cli(['delegate', '--to', 'bob', '--task', 'y'.repeat(3000)], alice.env)
    expect(big.code).toBe(1)
    expect(big.stderr).toMatch(/3000 bytes; the limit is 2048/)

    for (const args of [
      ['delegate', '--task', 'x'],
      ['delegate', '--to', 'bob', '--cap', 'x', '--task', 'x'],
      ['delegate', '--to', 'bob', '--task', 'x', '--priority', 'asap'],
      ['delegate', '--to', 'bob', '--task', 'x', '--ttl', 'forever'],
      ['respond', '--result', 'x'],
      ['respond', '--msg-id', 'x', '--result', 'y', '--status', 'done'],
      ['poll', '--wait', 'soon'],
    ]) {
      const r = await cli(args, alice.env)
      expect(r.code, args.join(' ')).toBe(2)
    }

    const mine = await cliJson<TaskJson>(['delegate', '--to', 'bob', '--task', 'for bob'], alice.env)
    const foreign = await cli(['respond', '--msg-id', mine.id, '--result', 'I answer my own task'], alice.env)
    expect(foreign.code).toBe(1)
    expect(foreign.stderr).toContain('only the agent it was sent to can respond')
    const nothing = await cli(['respond', '--msg-id', 'no-such-task', '--result', 'x'], bob.env)
    expect(nothing.code).toBe(1)
    expect(nothing.stderr).toContain('no received task no-such-task')
    const notMine = await eventually(async () => (await cliJson<EventJson[]>(['poll'], bob.env))[0])
    const cancelForeign = await cli(['cancel', '--msg-id', notMine.id], bob.env)
    expect(cancelForeign.code).toBe(1)
    expect(cancelForeign.stderr).toContain('only its delegator can cancel it')
    for (const r of [unknown, badContext, big, foreign, nothing, cancelForeign])
      expect(r.stderr).not.toMatch(/\n\s+at /)

    // cancel: the assignee is told, and can no longer answer
    const canceled = await cliJson<TaskJson>(
      ['cancel', '--msg-id', mine.id, '--reason', 'not needed'],
      alice.env,
    )
    expect(canceled.state).toBe('canceled')
    const told = await eventually(async () =>
      (await cliJson<EventJson[]>(['poll'], bob.env)).find((e) => e.state === 'canceled'),
    )
    expect(told).toMatchObject({
      id: mine.id,
      type: 'task_update',
      reason: 'not needed',
      from: { name: 'alice' },
    })
    const late = await cli(['respond', '--msg-id', mine.id, '--result', 'too late'], bob.env)
    expect(late.code).toBe(1)
    expect(late.stderr).toContain('already canceled')
  })
})
