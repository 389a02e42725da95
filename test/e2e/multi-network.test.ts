// Two subnets joined by a relay, built from network namespaces: subnet A (198.18.1.0/24) with two
// agents on one bridge, subnet B (198.19.1.0/24) with one agent, no route between them, and a relay
// with a leg in each. Needs root and iproute2; skipped, with the reason printed, where they are missing.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventJson, FileJson, PeerJson, StatusJson, TaskJson } from '../../src/api/types.js'
import {
  type Agent,
  agentMesh,
  cli,
  cliJson,
  eventually,
  type NodeProcess,
  spawnNode,
} from '../helpers/cli.js'
import { ADDR, buildTopology, namespacesUnavailable, type Topology } from '../helpers/netns.js'

const skipReason = namespacesUnavailable()
if (skipReason != null) console.warn(`multi-network test skipped: ${skipReason}`)

describe.skipIf(skipReason != null)('agents in two subnets, joined by a relay (network namespaces)', () => {
  const dirs: string[] = []
  const procs: NodeProcess[] = []
  const agent = agentMesh(dirs)
  const a1 = agent('a1')
  const a2 = agent('a2')
  const b1 = agent('b1')
  const relayAgent = agent('relay')
  let relay: NodeProcess
  let relayId = ''
  let topo: Topology
  let NS: Topology['ns']

  const inNs = (ns: string) => ({ wrap: topo.exec(ns) })
  async function startRelay(): Promise<NodeProcess> {
    const p = await spawnNode(['--listen', '/ip4/0.0.0.0/tcp/4001', '--no-mdns'], relayAgent.env, 20_000, {
      ...inNs(NS.r),
      command: 'relay',
    })
    procs.push(p)
    return p
  }
  async function startAgent(a: Agent, ns: string, relayAddr: string): Promise<NodeProcess> {
    const p = await spawnNode(
      ['--name', a.name, '--listen', '/ip4/0.0.0.0/tcp/4002', '--relay', `${relayAddr}/p2p/${relayId}`],
      a.env,
      20_000,
      inNs(ns),
    )
    procs.push(p)
    return p
  }
  const names = async (a: Agent) => (await cliJson<PeerJson[]>(['discover'], a.env)).map((p) => p.name).sort()

  beforeAll(async () => {
    topo = buildTopology()
    NS = topo.ns
    // learn the relay's PeerId, then keep it down until the A agents have found each other
    relay = await startRelay()
    relayId = relay.peerId
    await relay.stop('SIGTERM')
    procs.splice(procs.indexOf(relay), 1)
    await startAgent(a1, NS.a1, `/ip4/${ADDR.rA}/tcp/4001`)
    await startAgent(a2, NS.a2, `/ip4/${ADDR.rA}/tcp/4001`)
    // no relay and no --peer: only mDNS on subnet A can introduce them
    await eventually(async () => ((await names(a1)).join() === 'a2' ? true : undefined), 30_000)
    await eventually(async () => ((await names(a2)).join() === 'a1' ? true : undefined), 30_000)
    relay = await startRelay()
    await startAgent(b1, NS.b1, `/ip4/${ADDR.rB}/tcp/4001`)
  }, 120_000)

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')))
    topo?.remove()
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  it('A agents found each other by mDNS; B is not reachable directly; through the relay all see all', async () => {
    // b1 cannot even open a TCP connection to a1
    const direct = spawnSync('ip', [
      'netns',
      'exec',
      NS.b1,
      process.execPath,
      '-e',
      `
      const s = require('node:net').connect(4002, '${ADDR.a1}')
      s.setTimeout(1500, () => { console.log('timeout'); process.exit(0) })
      s.on('connect', () => { console.log('connected'); process.exit(0) })
      s.on('error', (e) => { console.log(e.code); process.exit(0) })`,
    ])
    expect(direct.stdout.toString().trim()).not.toBe('connected')

    await eventually(async () => ((await names(a1)).join() === 'a2,b1' ? true : undefined), 30_000)
    await eventually(async () => ((await names(a2)).join() === 'a1,b1' ? true : undefined), 30_000)
    await eventually(async () => ((await names(b1)).join() === 'a1,a2' ? true : undefined), 30_000)

    const s1 = await cliJson<StatusJson>(['status'], a1.env)
    const a2Id = (await cliJson<PeerJson[]>(['discover'], a1.env)).find((p) => p.name === 'a2')!.id

    const b1Id = (await cliJson<PeerJson[]>(['discover'], a1.env)).find((p) => p.name === 'b1')!.id
    // a1 reaches a2 directly on the LAN (found by mDNS), b1 only through the relay
    expect(s1.connections.some((c) => c.peer === a2Id && !c.relayed && c.addr.includes(ADDR.a2))).toBe(true)
    await eventually(async () => {
      const s = await cliJson<StatusJson>(['status'], a1.env)
      const toB = s.connections.filter((c) => c.peer === b1Id)
      return toB.length > 0 && toB.every((c) => c.relayed) ? true : undefined
    }, 30_000)
  }, 120_000)

  it('a task from B to A completes, a broadcast reaches all, a file replicates', async () => {
    const waiting = cli(
      ['delegate', '--to', 'a1', '--task', 'across subnets', '--wait', '60', '--json'],
      b1.env,
      { timeout: 70_000 },
    )
    const task = await eventually(
      async () =>
        (await cliJson<EventJson[]>(['poll', '--wait', '5'], a1.env)).find((e) => e.type === 'task'),
      30_000,
    )
    expect(task).toMatchObject({ task: 'across subnets', from: { name: 'b1' } })
    await cliJson<TaskJson>(['respond', '--msg-id', task.id, '--result', 'done in A'], a1.env)
    const done = await waiting
    expect(done.code, done.stderr).toBe(0)
    expect(JSON.parse(done.stdout)).toMatchObject({ state: 'completed', result: 'done in A' })

    await cliJson(['broadcast', '--content', 'hello from A2', '--topic', 'net'], a2.env)
    for (const a of [a1, b1]) {
      await eventually(async () => {
        const list = await cliJson<Array<{ content: string }>>(['knowledge', '--topic', 'net'], a.env)
        return list.some((b) => b.content === 'hello from A2') ? true : undefined
      }, 30_000)
    }

    // the file to share lives outside every agent's CLAWLINK_HOME: file-put refuses what is inside one
    const work = mkdtempSync(join(tmpdir(), 'clawlink-work-'))
    dirs.push(work)
    const src = join(work, 'report.md')
    writeFileSync(src, `# made in subnet B\n${randomBytes(2000).toString('hex')}\n`)
    await cliJson<FileJson>(['file-put', '--key', 'net/report.md', '--file', src], b1.env)
    const out = join(dirs[0]!, 'report.md')
    await eventually(async () => {
      const r = await cli(['file-get', '--key', 'net/report.md', '--output', out], a1.env)
      return r.code === 0 ? true : undefined
    }, 30_000)
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(src, 'utf8'))
  }, 120_000)

  it('a task sent while the relay is down arrives once the relay is back', async () => {
    await relay.stop('SIGTERM')
    procs.splice(procs.indexOf(relay), 1)
    await eventually(async () => {
      const s = await cliJson<StatusJson>(['status'], a1.env)
      return s.connections.every((c) => !c.relayed) ? true : undefined
    }, 30_000)
    const sent = await cliJson<TaskJson>(
      ['delegate', '--to', 'b1', '--task', 'while the relay was down'],
      a1.env,
    )
    expect(sent.state).toBe('submitted')
    relay = await startRelay()
    const got = await eventually(
      async () => (await cliJson<EventJson[]>(['poll', '--wait', '5'], b1.env)).find((e) => e.id === sent.id),
      60_000,
    )
    expect(got).toMatchObject({ type: 'task', task: 'while the relay was down', from: { name: 'a1' } })
  }, 120_000)
})
