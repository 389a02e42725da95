// The daemon's process as the bin starts it (bin/clawlink.js): V8 flags for a long-lived process and
// glibc's malloc arenas capped, without changing the environment of the commands the node runs.
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { TaskJson } from '../../src/api/types.js'
import { agentMesh, cliJson, eventually, type NodeProcess, seesAll, startAgent } from '../helpers/cli.js'

const procs: NodeProcess[] = []
const homes: string[] = []
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop('SIGTERM')))
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true })
})

/** The environment a process was started with (Linux). */
function startEnv(pid: number): Map<string, string> {
  const raw = readFileSync(`/proc/${pid}/environ`, 'utf8')
    .split('\0')
    .filter((s) => s !== '')
  return new Map(raw.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
}

describe.skipIf(process.platform !== 'linux')('the node process', () => {
  it('runs with two malloc arenas and the daemon flags; an --on-event command sees the user environment', async () => {
    const agent = agentMesh(homes)
    const alice = agent('alice')
    const bob = agent('bob')
    const hookFile = join(bob.home, 'hook-env.txt')
    await startAgent(procs, alice)
    const b = await startAgent(procs, bob, ['--on-event', `env > '${hookFile}'`])
    expect(startEnv(b.proc.pid!).get('MALLOC_ARENA_MAX')).toBe('2')
    expect(readFileSync(`/proc/${b.proc.pid}/cmdline`, 'utf8').split('\0')).toEqual(
      expect.arrayContaining(['--max-semi-space-size=1', '--optimize-for-size']),
    )
    await seesAll(alice.env, ['bob'])
    const sent = await cliJson<TaskJson>(['delegate', '--to', 'bob', '--task', 'env check'], alice.env)
    const hookEnv = await eventually(async () => {
      const text = readFileSync(hookFile, 'utf8')
      return text.includes(`CLAWLINK_EVENT_ID=${sent.id}`) ? text : undefined
    })
    expect(hookEnv).toContain('CLAWLINK_EVENT=task')
    expect(hookEnv).not.toContain('MALLOC_ARENA_MAX')
    expect(hookEnv).not.toContain('CLAWLINK_MALLOC_ARENA_MAX')
  })

  it("keeps the user's own MALLOC_ARENA_MAX", async () => {
    const alice = agentMesh(homes)('alice')
    const a = await startAgent(procs, { ...alice, env: { ...alice.env, MALLOC_ARENA_MAX: '4' } })
    expect(startEnv(a.proc.pid!).get('MALLOC_ARENA_MAX')).toBe('4')
  })
})
