// input-required and reply between real `clawlink node` processes: the assignee asks, the delegator
// replies through the CLI, the reply reaches the assignee's poll exactly once and in order, also when
// the delegator is killed -9 with its replies still in the outbox.
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

describe('input-required and reply, end to end', () => {
  const homes: string[] = []
  const procs: NodeProcess[] = []
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true })
  })
  const start = (agent: Agent) => startAgent(procs, agent)

  async function sees(env: NodeJS.ProcessEnv, name: string): Promise<PeerJson> {
    return eventually(async () => (await cliJson<PeerJson[]>(['discover'], env)).find((p) => p.name === name))
  }

  /** Polls `agent` until an event matching `match` arrives; returns every event polled meanwhile. */
  async function pollUntil(agent: Agent, match: (e: EventJson) => boolean): Promise<EventJson[]> {
    const got: EventJson[] = []
    await eventually(async () => {
      got.push(...(await cliJson<EventJson[]>(['poll', '--wait', '5'], agent.env)))
      return got.some(match) ? true : undefined
    }, 30_000)
    return got
  }

  /** alice delegates to bob, bob takes it and asks a question, alice gets the question. */
  async function asked(alice: Agent, bob: Agent): Promise<TaskJson> {
    const sent = await cliJson<TaskJson>(['delegate', '--to', 'bob', '--task', 'book a table'], alice.env)
    await pollUntil(bob, (e) => e.type === 'task' && e.id === sent.id)
    const asking = await cliJson<TaskJson>(
      ['respond', '--msg-id', sent.id, '--status', 'input-required', '--result', 'for how many people?'],
      bob.env,
    )
    expect(asking.state).toBe('input-required')
    const updates = await pollUntil(alice, (e) => e.type === 'task_update' && e.state === 'input-required')
    expect(updates.find((e) => e.state === 'input-required')).toMatchObject({
      id: sent.id,
      from: { name: 'bob' },
      result: 'for how many people?',
    })
    return sent
  }

  it('ask → reply → the assignee polls the reply → complete', async () => {
    const agent = agentMesh(homes)
    const alice = agent('alice')
    const bob = agent('bob')
    await start(alice)
    await start(bob)
    await sees(alice.env, 'bob')
    const sent = await asked(alice, bob)

    const replied = await cliJson<TaskJson>(['reply', sent.id, 'four'], alice.env)
    expect(replied).toMatchObject({ id: sent.id, direction: 'sent', state: 'working' })
    const events = await pollUntil(bob, (e) => e.type === 'task_reply')
    expect(events.filter((e) => e.type === 'task_reply')).toEqual([
      expect.objectContaining({
        type: 'task_reply',
        id: sent.id,
        from: expect.objectContaining({ name: 'alice' }),
        message: 'four',
        state: 'working',
      }),
    ])
    expect((await cliJson<TaskJson[]>(['tasks', '--id', sent.id], bob.env))[0]!.state).toBe('working')

    await cliJson<TaskJson>(['respond', '--msg-id', sent.id, '--result', 'booked for four'], bob.env)
    await pollUntil(alice, (e) => e.type === 'task_update' && e.state === 'completed')
    const [done] = await cliJson<TaskJson[]>(['tasks', '--id', sent.id], alice.env)
    expect(done).toMatchObject({ state: 'completed', result: 'booked for four' })

    // bad input: a clear one-line error, usage errors exit 2, rule errors exit non-zero
    const missing = await cli(['reply', sent.id], alice.env)
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/task id and the reply text/)
    const final = await cli(['reply', sent.id, 'too late'], alice.env)
    expect(final.code).not.toBe(0)
    expect(final.stderr).toMatch(/already completed/)
    const notMine = await cli(['reply', sent.id, 'x'], bob.env)
    expect(notMine.code).not.toBe(0)
    expect(notMine.stderr).toMatch(/answer it with respond/)
  }, 120_000)

  it('kill -9 of the delegator between reply and delivery: every reply arrives once, in order', async () => {
    const agent = agentMesh(homes)
    const alice = agent('alice')
    const bob = agent('bob')
    let aliceProc = await start(alice)
    let bobProc = await start(bob)
    await sees(alice.env, 'bob')
    const sent = await asked(alice, bob)

    // bob is gone: the replies wait in alice's outbox; then alice dies too
    await bobProc.stop('SIGKILL')
    for (const text of ['one', 'two', 'three']) await cliJson<TaskJson>(['reply', sent.id, text], alice.env)
    aliceProc.proc.kill('SIGKILL')
    await aliceProc.exited
    procs.splice(procs.indexOf(aliceProc), 1)

    bobProc = await start(bob)
    aliceProc = await start(alice)
    const events = await pollUntil(bob, (e) => e.type === 'task_reply' && e.message === 'three')
    expect(events.filter((e) => e.type === 'task_reply').map((e) => e.message)).toEqual([
      'one',
      'two',
      'three',
    ])
    // nothing comes twice, also after bob is killed -9 and restarted (alice may resend unacked replies)
    await bobProc.stop('SIGKILL')
    await start(bob)
    expect(await cliJson<EventJson[]>(['poll', '--wait', '2'], bob.env)).toEqual([])
    const [task] = await cliJson<TaskJson[]>(['tasks', '--id', sent.id], bob.env)
    expect(task!.state).toBe('working')
  }, 120_000)
})
