// `clawlink dashboard` as a command: bad options, a node that is not running yet, no browser needed.
import { rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { agentMesh, cli, eventually, type NodeProcess, startAgent } from '../helpers/cli.js'
import { type DashboardProcess, startDashboard } from '../helpers/dashboard.js'

describe('clawlink dashboard (command)', () => {
  const dirs: string[] = []
  const procs: NodeProcess[] = []
  const dashes: DashboardProcess[] = []

  afterEach(async () => {
    await Promise.all(dashes.splice(0).map((d) => d.stop()))
    await Promise.all(procs.splice(0).map((p) => p.stop()))
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })

  it('refuses a bad --host and a taken --port with a usage error', async () => {
    const alice = agentMesh(dirs)('alice')
    const bad = await cli(['dashboard', '--host', 'bad host!'], alice.env)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--host')
    const taken = createServer()
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r))
    const port = (taken.address() as { port: number }).port
    try {
      const r = await cli(['dashboard', '--port', String(port)], alice.env)
      expect(r.code).toBe(2)
      expect(r.stderr).toContain('EADDRINUSE')
      expect(r.stderr).not.toContain('    at ')
    } finally {
      taken.close()
    }
  })

  it('starts before its node, says the node is not running, and serves it once it runs', async () => {
    const alice = agentMesh(dirs)('alice')
    const dash = await startDashboard(alice.env)
    dashes.push(dash)
    const headers = { 'x-clawlink-token': dash.token }
    const before = await fetch(`${dash.origin}/api/snapshot`, { headers })
    expect(before.status).toBe(502)
    expect(((await before.json()) as { error: { message: string } }).error.message).toContain(
      'no node named alice',
    )
    await startAgent(procs, alice)
    const snap = await eventually(async () => {
      const r = await fetch(`${dash.origin}/api/snapshot`, { headers })
      return r.ok ? ((await r.json()) as { node: { name: string } }) : undefined
    })
    expect(snap.node.name).toBe('alice')
    const nodes = (await (await fetch(`${dash.origin}/api/nodes`, { headers })).json()) as Array<{
      name: string
    }>
    expect(nodes.map((n) => n.name)).toEqual(['alice'])
  })

  it('lists every node of this user on this host and serves the one chosen', async () => {
    const alice = agentMesh(dirs)('alice')
    // a second node in the same ClawLink home
    const carol = { ...alice, name: 'carol', env: { ...alice.env, CLAWLINK_AGENT: 'carol' } }
    await startAgent(procs, alice)
    await startAgent(procs, carol)
    const dash = await startDashboard(alice.env)
    dashes.push(dash)
    const headers = { 'x-clawlink-token': dash.token }
    const nodes = (await (await fetch(`${dash.origin}/api/nodes`, { headers })).json()) as Array<{
      name: string
      dataDir: string
      default: boolean
    }>
    expect(nodes.map((n) => [n.name, n.default])).toEqual([
      ['alice', true],
      ['carol', false],
    ])
    const q = new URLSearchParams({ node: nodes[1]!.dataDir })
    const snap = (await (await fetch(`${dash.origin}/api/snapshot?${q}`, { headers })).json()) as {
      status: { card: { name: string } }
    }
    expect(snap.status.card.name).toBe('carol')
    // only a running node of this user can be named
    const other = await fetch(`${dash.origin}/api/snapshot?node=${encodeURIComponent('/tmp')}`, { headers })
    expect(other.status).toBe(502)
  })
})
