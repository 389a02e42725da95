// External A2A agents as mesh members, end to end: an agent built with the official SDK's server runs
// in this test on loopback; `clawlink a2a add` on bob's node bridges it into the mesh, and alice, on
// another node, delegates to it by name and by skill, gets its question and answers it, waits while
// it is down, and loses nothing when bob's node is killed -9 in the middle of a task.
import { rmSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import type { A2aAgentJson } from '../../src/api/a2a-outbound.js'
import type { EventJson, PeerJson, TaskJson } from '../../src/api/types.js'
import { startA2aAgent, type TestA2aAgent } from '../helpers/a2a-agent.js'
import {
  type Agent,
  agentMesh,
  cli,
  cliJson,
  eventually,
  type NodeProcess,
  startAgent,
} from '../helpers/cli.js'

describe('A2A agents reachable from the mesh (outbound)', () => {
  const homes: string[] = []
  const procs: NodeProcess[] = []
  const agents: TestA2aAgent[] = []
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const a of agents.splice(0)) await a.down().catch(() => {})
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true })
  })

  /** alice and bob on one mesh; bob's node holds the token in A2A_TOKEN and bridges `helper`. */
  async function setup(opts: { streaming?: boolean } = {}) {
    const external = await startA2aAgent({ token: 'sekrit', streaming: opts.streaming })
    agents.push(external)
    const mesh = agentMesh(homes)
    const alice = mesh('alice')
    const bob = mesh('bob')
    bob.env.A2A_TOKEN = 'sekrit'
    await startAgent(procs, alice)
    const bobProc = await startAgent(procs, bob)
    const added = await cliJson<A2aAgentJson>(
      ['a2a', 'add', 'helper', external.url, '--token-env', 'A2A_TOKEN'],
      bob.env,
    )
    expect(added).toMatchObject({
      name: 'helper',
      url: external.url,
      tokenEnv: 'A2A_TOKEN',
      streaming: opts.streaming ?? true,
    })
    expect(added.caps).toEqual(expect.arrayContaining(['translate', 'echo', 'language']))
    // every node lists it as an agent hosted by bob's node, with its skills as caps
    const listed = await eventually(async () =>
      (await cliJson<PeerJson[]>(['discover'], alice.env)).find((p) => p.name === 'helper'),
    )
    expect(listed).toMatchObject({ kind: 'hosted', hostedBy: { name: 'bob' } })
    expect(listed.caps).toEqual(expect.arrayContaining(['translate', 'echo']))
    return { external, alice, bob, bobProc }
  }

  async function finalTask(agent: Agent, id: string, timeout = 30_000): Promise<TaskJson> {
    return eventually(
      async () => {
        const [t] = await cliJson<TaskJson[]>(['tasks', '--id', id], agent.env)
        return t != null && ['completed', 'failed', 'rejected', 'expired', 'canceled'].includes(t.state)
          ? t
          : undefined
      },
      timeout,
      200,
    )
  }

  it('delegate by name and by skill: the result comes back; the agent asks, alice replies', async () => {
    const { alice, bob } = await setup()
    const byName = await cliJson<TaskJson>(
      ['delegate', '--to', 'helper', '--task', 'hello there', '--wait', '30'],
      alice.env,
    )
    expect(byName).toMatchObject({ state: 'completed', result: 'echo: hello there', to: { name: 'bob' } })
    const bySkill = await cliJson<TaskJson>(
      ['delegate', '--cap', 'translate', '--task', 'bonjour', '--context', '{"to":"en"}', '--wait', '30'],
      alice.env,
    )
    expect(bySkill).toMatchObject({ state: 'completed', result: 'echo: bonjour {"to":"en"}' })

    // input-required maps to the mesh state; alice's reply becomes a follow-up message on the A2A task
    const asking = await cliJson<TaskJson>(['delegate', '--to', 'helper', '--task', 'ask me'], alice.env)
    const question = await eventually(async () => {
      const [t] = await cliJson<TaskJson[]>(['tasks', '--id', asking.id], alice.env)
      return t?.state === 'input-required' ? t : undefined
    }, 30_000)
    expect(question.result).toBe('which color?')
    await cliJson<TaskJson>(['reply', asking.id, 'blue'], alice.env)
    expect(await finalTask(alice, asking.id)).toMatchObject({ state: 'completed', result: 'answer: blue' })

    // bob's own agent delegates to the agent its node hosts (a local task), and answers its question
    const local = await cliJson<TaskJson>(['delegate', '--to', 'helper', '--task', 'ask locally'], bob.env)
    await eventually(async () => {
      const [t] = await cliJson<TaskJson[]>(['tasks', '--id', local.id], bob.env)
      return t?.state === 'input-required' ? t : undefined
    }, 30_000)
    await cliJson<TaskJson>(['reply', local.id, 'green'], bob.env)
    expect(await finalTask(bob, local.id)).toMatchObject({ state: 'completed', result: 'answer: green' })

    const listed = await cliJson<A2aAgentJson[]>(['a2a', 'list'], bob.env)
    expect(listed.map((a) => a.name)).toEqual(['helper'])
    // bad input: clear errors, usage errors exit 2
    expect((await cli(['a2a', 'add', 'x'], bob.env)).code).toBe(2)
    expect((await cli(['a2a'], bob.env)).code).toBe(2)
    const bad = await cli(['a2a', 'add', 'nobody', 'http://127.0.0.1:1/'], bob.env)
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/could not read the agent card/)
    const badName = await cli(['a2a', 'add', '-x', 'http://127.0.0.1:1/'], bob.env)
    expect(badName.code).not.toBe(0)
    const missing = await cli(['a2a', 'remove', 'nobody'], bob.env)
    expect(missing.code).not.toBe(0)
    expect(missing.stderr).toMatch(/no A2A agent nobody/)
    expect(await cliJson(['a2a', 'remove', 'helper'], bob.env)).toEqual({ removed: 'helper' })
    await eventually(async () =>
      (await cliJson<PeerJson[]>(['discover'], alice.env)).some((p) => p.name === 'helper')
        ? undefined
        : true,
    )
  }, 120_000)

  it('the agent down, then up: the task waits and is retried, then completes (GetTask, no streaming)', async () => {
    const { external, alice, bobProc } = await setup({ streaming: false })
    await external.down()
    const sent = await cliJson<TaskJson>(['delegate', '--to', 'helper', '--task', 'later please'], alice.env)
    // bob's node has the task (delivered) and tries the agent in vain
    await eventually(
      async () => (bobProc.events.some((e) => e.event === 'a2a_failed') ? true : undefined),
      30_000,
    )
    const [waiting] = await cliJson<TaskJson[]>(['tasks', '--id', sent.id], alice.env)
    expect(waiting!.state).toBe('delivered')
    await external.up()
    expect(await finalTask(alice, sent.id, 60_000)).toMatchObject({
      state: 'completed',
      result: 'echo: later please',
    })
  }, 120_000)

  it('kill -9 of the bridging node mid-task: after a restart the result arrives, once', async () => {
    const { external, alice, bob, bobProc } = await setup()
    const sent = await cliJson<TaskJson>(['delegate', '--to', 'helper', '--task', 'hold on'], alice.env)
    await external.holding
    // the A2A task id is stored once this is logged
    await eventually(async () => (bobProc.events.some((e) => e.event === 'a2a_task_sent') ? true : undefined))
    bobProc.proc.kill('SIGKILL')
    await bobProc.exited
    procs.splice(procs.indexOf(bobProc), 1)
    external.release()
    await startAgent(procs, bob)
    expect(await finalTask(alice, sent.id, 60_000)).toMatchObject({
      state: 'completed',
      result: 'done: hold on',
    })
    // one message reached the agent (no second SendMessage), and alice got one final update
    expect(external.executed.filter((m) => m === sent.id)).toHaveLength(1)
    const events = await cliJson<EventJson[]>(['poll'], alice.env)
    expect(events.filter((e) => e.id === sent.id && e.state === 'completed')).toHaveLength(1)
  }, 120_000)
})
