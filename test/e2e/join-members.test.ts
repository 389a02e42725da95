// A newcomer to a sparse mesh of real processes lists every member from the member lists exchanged on
// connect, long before any heartbeat (--heartbeat 10m), and every member lists it from its one join
// announcement: no member re-announces for it (issue 17; the count is in test/integration/join-storm).
import { rmSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import type { StatusJson } from '../../src/api/types.js'
import { agentMesh, cliJson, type NodeProcess, seesAll, startAgent } from '../helpers/cli.js'

const NAMES = ['j1', 'j2', 'j3', 'j4', 'j5']
const ARGS = ['--max-peers', '2', '--heartbeat', '10m']

describe('joining a sparse mesh of real processes', () => {
  const dirs: string[] = []
  const procs: NodeProcess[] = []
  const agent = agentMesh(dirs)

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()))
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  it('a newcomer lists every member within seconds, and every member lists it, with heartbeats 10 minutes apart', async () => {
    const members = NAMES.map((n) => agent(n))
    for (const a of members) await startAgent(procs, a, ARGS)
    for (const a of members)
      await seesAll(
        a.env,
        NAMES.filter((n) => n !== a.name),
      )
    const newcomer = agent('newcomer')
    await startAgent(procs, newcomer, ARGS)
    await seesAll(newcomer.env, NAMES)
    for (const a of members) await seesAll(a.env, ['newcomer'])
    const status = await cliJson<StatusJson>(['status'], newcomer.env)
    expect(status.peers.online).toBe(NAMES.length)
  }, 180_000)
})
