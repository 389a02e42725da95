// The suite runs its nodes on the Node it was started with: CI runs it on Node 22 and again on Node 24
// (scripts/with-node24.mjs), and CLAWLINK_EXPECT_NODE_MAJOR says which one each run must be on.
import { spawnSync } from 'node:child_process'
import { existsSync, readlinkSync, rmSync } from 'node:fs'
import { afterAll, expect, it } from 'vitest'
import { agentMesh, cli, type NodeProcess, startAgent } from '../helpers/cli.js'

const dirs: string[] = []
const procs: NodeProcess[] = []

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()))
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const major = (version: string) => version.trim().replace(/^v/, '').split('.')[0]

it('runs the clawlink nodes it spawns on the Node major this run is meant for', async () => {
  const expected = process.env.CLAWLINK_EXPECT_NODE_MAJOR ?? major(process.versions.node)
  console.log(`test run on Node ${process.version}, expected major ${expected}`)
  expect(major(process.versions.node)).toBe(expected)
  const alice = agentMesh(dirs)('alice')
  const node = await startAgent(procs, alice)
  // the daemon itself, after bin/clawlink.js re-executes it with its V8 flags
  const exe = `/proc/${node.proc.pid}/exe`
  const running = existsSync(exe) ? readlinkSync(exe) : process.execPath
  const version = spawnSync(running, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout
  expect(major(version)).toBe(expected)
  expect((await cli(['status'], alice.env)).code).toBe(0)
})
