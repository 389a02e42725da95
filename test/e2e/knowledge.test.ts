// Broadcasts between real `clawlink node` processes: live delivery, history for late joiners and for a
// node that was away, and clear errors for bad input.
import { rmSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import type { BroadcastJson, EventJson } from '../../src/api/types.js'
import {
  type Agent,
  agentMesh,
  cli,
  cliJson,
  eventually,
  type NodeProcess,
  seesAll,
  startAgent,
} from '../helpers/cli.js'

describe('knowledge broadcasts, end to end', () => {
  const homes: string[] = []
  const procs: NodeProcess[] = []
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true })
  })
  const mesh = () => agentMesh(homes)
  const start = (agent: Agent, extra: string[] = []) => startAgent(procs, agent, extra)

  it('reaches every online agent with topic and tags, not echoed to its author; late joiners and returning agents catch up', async () => {
    const agent = mesh()
    const [alice, bob, carol] = ['alice', 'bob', 'carol'].map(agent) as [
      ReturnType<typeof agent>,
      ReturnType<typeof agent>,
      ReturnType<typeof agent>,
    ]
    await start(alice)
    await start(bob)
    const carolProc = await start(carol)
    await seesAll(alice.env, ['bob', 'carol'])
    await seesAll(bob.env, ['alice', 'carol'])
    await seesAll(carol.env, ['alice', 'bob'])

    const sent = await cliJson<BroadcastJson>(
      [
        'broadcast',
        '--content',
        'the parser bug is in tokenize()',
        '--topic',
        'findings',
        '--tags',
        'bug,parser',
      ],
      alice.env,
    )
    expect(sent).toMatchObject({ topic: 'findings', tags: ['bug', 'parser'], author: { name: 'alice' } })
    expect(sent.id).toMatch(/^[0-9a-f]{32}$/)

    for (const other of [bob, carol]) {
      const events = await eventually(async () => {
        const got = await cliJson<EventJson[]>(['poll', '--wait', '5'], other.env)
        return got.length > 0 ? got : undefined
      })
      expect(events).toHaveLength(1)
      expect(events[0]).toMatchObject({
        type: 'broadcast',
        id: sent.id,
        from: { name: 'alice' },
        topic: 'findings',
        tags: ['bug', 'parser'],
        content: 'the parser bug is in tokenize()',
      })
    }
    expect(await cliJson<EventJson[]>(['poll'], alice.env)).toEqual([])
    expect((await cliJson<BroadcastJson[]>(['knowledge'], alice.env)).map((b) => b.id)).toEqual([sent.id])

    // carol goes away; two more broadcasts are made while she is gone
    await carolProc.stop('SIGTERM')
    const second = await cliJson<BroadcastJson>(
      ['broadcast', '--content', 'fixed in 4f2a', '--topic', 'findings'],
      bob.env,
    )
    const third = await cliJson<BroadcastJson>(
      ['broadcast', '--content', 'release tonight', '--tags', 'release'],
      alice.env,
    )

    // dave starts afterwards and gets all three through history sync, without anyone repeating them
    const dave = agent('dave')
    await start(dave)
    // authors are named from presence cards, which may reach dave after the history does
    await seesAll(dave.env, ['alice', 'bob'])
    const daveHas = await eventually(async () => {
      const list = await cliJson<BroadcastJson[]>(['knowledge'], dave.env)
      return list.length === 3 ? list : undefined
    })
    expect(daveHas.map((b) => b.id)).toEqual([third.id, second.id, sent.id])
    expect(daveHas[2]).toMatchObject({
      author: { name: 'alice' },
      content: 'the parser bug is in tokenize()',
    })
    expect(
      (await cliJson<BroadcastJson[]>(['knowledge', '--topic', 'findings', '--from', 'bob'], dave.env)).map(
        (b) => b.id,
      ),
    ).toEqual([second.id])
    expect(
      (await cliJson<BroadcastJson[]>(['knowledge', '--tag', 'release'], dave.env)).map((b) => b.id),
    ).toEqual([third.id])

    // carol comes back and catches up; what she missed appears in her poll, once
    await start(carol)
    const missed = await eventually(async () => {
      const got = await cliJson<EventJson[]>(['poll', '--wait', '5'], carol.env)
      return got.length > 0 ? got : undefined
    })
    const all = [...missed]
    await new Promise((r) => setTimeout(r, 1_000))
    all.push(...(await cliJson<EventJson[]>(['poll'], carol.env)))
    expect(all.map((e) => e.id).sort()).toEqual([second.id, third.id].sort())
    expect((await cliJson<BroadcastJson[]>(['knowledge'], carol.env)).map((b) => b.id)).toEqual([
      third.id,
      second.id,
      sent.id,
    ])
  }, 90_000)

  it('refuses bad broadcasts with a clear error', async () => {
    const agent = mesh()
    const alice = agent('alice')
    await start(alice)
    const cases: Array<[string[], number, RegExp]> = [
      [['--content', 'x'.repeat(70_000)], 1, /70000 bytes; the limit is 65536/],
      [
        ['--content', 'x', '--tags', Array.from({ length: 17 }, (_, i) => `t${i}`).join(',')],
        1,
        /too many tags: 17/,
      ],
      [['--content', 'x', '--topic', 'Not A Slug'], 1, /invalid topic/],
      [['--content', '   '], 1, /content is empty/],
      [[], 2, /--content is required/],
    ]
    for (const [args, code, re] of cases) {
      const r = await cli(['broadcast', ...args], alice.env)
      expect(r.code, args.join(' ').slice(0, 60)).toBe(code)
      expect(r.stderr).toMatch(re)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
    expect(await cliJson<BroadcastJson[]>(['knowledge'], alice.env)).toEqual([])
    const badSince = await cli(['knowledge', '--since', 'yesterday-ish'], alice.env)
    expect(badSince.code).toBe(2)
  })
})
