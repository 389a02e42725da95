// The daemon's process as the bin starts it (bin/clawlink.js): V8 flags for a long-lived process and
// glibc's malloc arenas capped, without changing the environment of the commands the node runs.
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
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

/** NODE_OPTIONS that make a node process list every module it loads in `listFile`. */
function listModules(dir: string, listFile: string): string {
  const hooks = join(dir, 'list-hooks.mjs')
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs'
export async function load(url, context, next) {
  appendFileSync(${JSON.stringify(listFile)}, url + '\\n')
  return next(url, context)
}
`,
  )
  const register = join(dir, 'list-modules.mjs')
  writeFileSync(
    register,
    `import { register } from 'node:module'\nregister(${JSON.stringify(pathToFileURL(hooks).href)})\n`,
  )
  return `--import ${pathToFileURL(register).href}`
}

describe('what a node loads', () => {
  it('loads the v1 adapter only when --v1-api asks for it', async () => {
    const agent = agentMesh(homes)
    const plain = agent('plain')
    const hosting = agent('hosting')
    const lists = { plain: join(plain.home, 'modules.txt'), hosting: join(hosting.home, 'modules.txt') }
    await startAgent(
      procs,
      { ...plain, env: { ...plain.env, NODE_OPTIONS: listModules(plain.home, lists.plain) } },
      ['--no-mdns'],
    )
    await startAgent(
      procs,
      { ...hosting, env: { ...hosting.env, NODE_OPTIONS: listModules(hosting.home, lists.hosting) } },
      ['--no-mdns', '--v1-api', '127.0.0.1:0'],
    )
    const v1Index = /\/dist\/v1\/index\.js$/m
    expect(readFileSync(lists.hosting, 'utf8')).toMatch(v1Index)
    const plainModules = readFileSync(lists.plain, 'utf8')
    expect(plainModules).toMatch(/\/dist\/core\/index\.js$/m)
    expect(plainModules).not.toMatch(v1Index)
  })
})

describe.skipIf(process.platform !== 'linux')('the node process', () => {
  it('runs with two malloc arenas and the daemon flags; an --on-event command sees the user environment', async () => {
    const agent = agentMesh(homes)
    const alice = agent('alice')
    const bob = agent('bob')
    const hookFile = join(bob.home, 'hook-env.txt')
    await startAgent(procs, alice)
    const b = await startAgent(procs, bob, ['--on-event', `env > '${hookFile}'`])
    expect(startEnv(b.proc.pid!).get('MALLOC_ARENA_MAX')).toBe('2')
    const argv = readFileSync(`/proc/${b.proc.pid}/cmdline`, 'utf8').split('\0')
    expect(argv).toEqual(expect.arrayContaining(['--max-semi-space-size=1']))
    // it cost CPU and saved no memory (docs/benchmarks.md, issue 17)
    expect(argv).not.toContain('--optimize-for-size')
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
