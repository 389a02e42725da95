// Hub mode as users name it: `clawlink node --name hub --relay` serves as a relay hub (what
// --relay-server did, still an alias); `--relay ADDR` still reaches the mesh through that hub.
import { rmSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import type { StatusJson } from '../../src/api/types.js'
import { agentMesh, cli, cliJson, eventually, type NodeProcess, spawnNode } from '../helpers/cli.js'

describe('clawlink node --relay', () => {
  const dirs: string[] = []
  const procs: NodeProcess[] = []
  const agent = agentMesh(dirs)
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()))
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  it('bare --relay (even before another option) serves as a hub that an agent reaches with --relay ADDR', async () => {
    const hub = agent('hub')
    const h = await spawnNode(
      ['--relay', '--name', 'hub', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns'],
      hub.env,
    )
    procs.push(h)
    expect(h.events.find((e) => e.event === 'started')!.relayServer).toBe(true)
    const addr = h.addrs.find((a) => a.startsWith('/ip4/127.0.0.1/'))!
    const a = agent('a')
    const p = await spawnNode(
      ['--name', 'a', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--relay', addr],
      a.env,
    )
    procs.push(p)
    expect(p.events.find((e) => e.event === 'started')!.relayServer).toBe(false)
    // with no mDNS and no --peer, only --relay ADDR can have introduced them: the agent keeps the hub dialled
    await eventually(async () => {
      const s = await cliJson<StatusJson>(['status'], a.env)
      return s.connections.some((c) => c.peer === h.peerId) ? true : undefined
    }, 20_000)
  })

  it('--relay-server is still an alias of a bare --relay', async () => {
    const hub = agent('hub2')
    const h = await spawnNode(
      ['--name', 'hub2', '--relay-server', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns'],
      hub.env,
    )
    procs.push(h)
    expect(h.events.find((e) => e.event === 'started')!.relayServer).toBe(true)
  })

  it('a --relay address without /p2p/ID is still a usage error', async () => {
    const r = await cli(['node', '--name', 'x', '--relay', '/ip4/127.0.0.1/tcp/4001'], agent('x').env)
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--relay .*needs the relay's PeerId/)
  })
})
