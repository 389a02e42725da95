// Two agents as a user runs them: separate `clawlink node` processes, each with its own home.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { PeerJson, StatusJson } from '../../src/api/types.js'
import { encodeKeyFile, generateKey } from '../../src/home/mesh-key.js'
import { cli, cliJson, eventually, type NodeProcess, spawnNode } from '../helpers/cli.js'

describe('two agents, end to end', () => {
  const homes: string[] = []
  const procs: NodeProcess[] = []
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true })
  })

  function agentEnv(key: string, tag: string): NodeJS.ProcessEnv {
    const home = mkdtempSync(join(tmpdir(), 'clawlink-e2e-'))
    homes.push(home)
    return { CLAWLINK_HOME: home, CLAWLINK_KEY: key, CLAWLINK_MDNS_TAG: tag }
  }

  it('find each other, see a SIGTERM as offline, and come back with the same PeerId', async () => {
    const key = encodeKeyFile(generateKey())
    const tag = `_cl-${randomBytes(4).toString('hex')}._udp.local`
    const envA = agentEnv(key, tag)
    const envB = agentEnv(key, tag)
    const listen = ['--listen', '/ip4/127.0.0.1/tcp/0']
    const a = await spawnNode(['--name', 'alice', '--caps', 'code,review', ...listen], envA)
    procs.push(a)
    let b = await spawnNode(['--name', 'bob', '--description', 'tests things', ...listen], envB)
    procs.push(b)

    const bobOnAlice = await eventually(async () => {
      const peers = await cliJson<PeerJson[]>(['discover'], envA)
      return peers.find((p) => p.name === 'bob')
    })
    expect(bobOnAlice).toMatchObject({
      id: b.peerId,
      status: 'online',
      description: 'tests things',
      caps: [],
    })
    expect(Date.parse(bobOnAlice.lastSeen)).toBeGreaterThan(0)
    const aliceOnBob = await eventually(async () => {
      const peers = await cliJson<PeerJson[]>(['discover'], envB)
      return peers.find((p) => p.name === 'alice')
    })
    expect(aliceOnBob).toMatchObject({ id: a.peerId, caps: ['code', 'review'], status: 'online' })
    expect((await cliJson<PeerJson[]>(['discover', '--cap', 'review'], envB)).map((p) => p.name)).toEqual([
      'alice',
    ])
    expect(await cliJson<PeerJson[]>(['discover', '--cap', 'nothing'], envB)).toEqual([])

    // SIGTERM: bob leaves cleanly and alice sees him offline at once
    expect(await b.stop('SIGTERM')).toBe(0)
    const offline = await eventually(async () => {
      const peers = await cliJson<PeerJson[]>(['discover', '--all'], envA)
      return peers.find((p) => p.name === 'bob' && p.status === 'offline')
    }, 5_000)
    expect(offline.id).toBe(b.peerId)
    expect(await cliJson<PeerJson[]>(['discover'], envA)).toEqual([])

    // restart bob on the same home: same PeerId, online again
    const again = await spawnNode(['--name', 'bob', ...listen], envB)
    procs.push(again)
    expect(again.peerId).toBe(b.peerId)
    b = again
    await eventually(async () => {
      const peers = await cliJson<PeerJson[]>(['discover'], envA)
      return peers.find((p) => p.id === b.peerId && p.status === 'online')
    })
    const status = await cliJson<StatusJson>(['status'], envA)
    expect(status.card).toMatchObject({ name: 'alice', id: a.peerId })
    expect(status.peers.online).toBe(1)
    expect(status.connections.some((c) => c.peer === b.peerId && !c.relayed)).toBe(true)
    expect(status.mesh.fingerprint).toMatch(/^[0-9a-f]{4}(:[0-9a-f]{4}){3}$/)
    expect(JSON.stringify(status)).not.toContain(key.split('\n')[2]!)
  })

  it('register changes the card peers see; heartbeat announces', async () => {
    const key = encodeKeyFile(generateKey())
    const tag = `_cl-${randomBytes(4).toString('hex')}._udp.local`
    const envA = agentEnv(key, tag)
    const envB = agentEnv(key, tag)
    const a = await spawnNode(['--name', 'alice', '--listen', '/ip4/127.0.0.1/tcp/0'], envA)
    procs.push(a)
    const b = await spawnNode(['--name', 'bob', '--listen', '/ip4/127.0.0.1/tcp/0'], envB)
    procs.push(b)
    await eventually(async () =>
      (await cliJson<PeerJson[]>(['discover'], envB)).find((p) => p.name === 'alice'),
    )

    const reg = await cli(
      ['register', '--caps', 'translate,summarize', '--description', 'now translating'],
      envA,
    )
    expect(reg.code).toBe(0)
    expect(reg.stdout).toContain('translate,summarize')
    const updated = await eventually(async () => {
      const peers = await cliJson<PeerJson[]>(['discover', '--cap', 'translate'], envB)
      return peers.find((p) => p.id === a.peerId)
    }, 5_000)
    expect(updated).toMatchObject({ caps: ['translate', 'summarize'], description: 'now translating' })

    const hb = await cliJson<{ ok: boolean; online: number }>(['heartbeat'], envA)
    expect(hb).toEqual({ ok: true, online: 1 })

    // a bad value is a usage error, found before the node is asked
    const bad = await cli(['register', '--name', 'no spaces allowed'], envA)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^clawlink: --name: invalid agent name/)
    expect(bad.stderr).not.toMatch(/at .*\.js:\d+/) // no stack trace
    const none = await cli(['register'], envA)
    expect(none.code).toBe(2)
  })
})
