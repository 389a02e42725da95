// Push instead of polling, end to end: `clawlink watch` streams events from a real node (and survives
// its restart), `--wake-url` wakes a gateway played by a local HTTP server, `--on-event` runs a command.
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { EventJson, PeerEventJson, TaskJson, WatchingJson } from '../../src/api/types.js'
import {
  type Agent,
  agentMesh,
  BIN,
  cli,
  cliJson,
  eventually,
  type NodeProcess,
  seesAll,
  startAgent,
} from '../helpers/cli.js'

type Line = EventJson | PeerEventJson | WatchingJson

/** `clawlink watch --json` as a long-running process whose lines are collected as they arrive. */
function startWatch(agent: Agent, args: string[] = []) {
  const proc: ChildProcess = spawn(process.execPath, [BIN, 'watch', '--json', ...args], {
    env: { PATH: process.env.PATH, ...agent.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: Line[] = []
  let stderr = ''
  let partial = ''
  proc.stdout!.on('data', (d: Buffer) => {
    partial += d.toString()
    for (let nl = partial.indexOf('\n'); nl >= 0; nl = partial.indexOf('\n')) {
      lines.push(JSON.parse(partial.slice(0, nl)) as Line)
      partial = partial.slice(nl + 1)
    }
  })
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)))
  return {
    proc,
    lines,
    exited,
    stderr: () => stderr,
    events: () => lines.filter((l): l is EventJson => 'seq' in l && l.type !== 'watching'),
    /** the first collected line matching `match` */
    waitFor: <T extends Line>(match: (l: Line) => boolean, timeout = 15_000) =>
      eventually(async () => lines.find(match) as T | undefined, timeout, 50),
  }
}

interface WakeRequest {
  path: string
  auth?: string
  body: { text: string; mode: string; agentId?: string; sessionKey?: string }
}

/** A stand-in for the OpenClaw gateway's POST /hooks/wake; `failFirst` answers 503 that many times. */
async function fakeGateway(failFirst = 0): Promise<{ server: Server; url: string; requests: WakeRequest[] }> {
  const requests: WakeRequest[] = []
  let failures = failFirst
  const server = createServer((req: IncomingMessage, res) => {
    let body = ''
    req.on('data', (d: Buffer) => {
      body += d.toString()
    })
    req.on('end', () => {
      if (failures > 0) {
        failures--
        res.writeHead(503).end()
        return
      }
      requests.push({ path: req.url ?? '', auth: req.headers.authorization, body: JSON.parse(body) })
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { server, url: `http://127.0.0.1:${port}/hooks/wake`, requests }
}

describe('watch, wake-ups and --on-event', () => {
  const homes: string[] = []
  const procs: NodeProcess[] = []
  const watchers: ChildProcess[] = []
  const servers: Server[] = []
  afterEach(async () => {
    for (const w of watchers.splice(0)) w.kill('SIGKILL')
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const s of servers.splice(0)) s.close()
    for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true })
  })
  const start = (agent: Agent, extra: string[] = []) => startAgent(procs, agent, extra)

  it('watch streams tasks, broadcasts, file updates and peers live, without consuming them', async () => {
    const agent = agentMesh(homes)
    const alice = agent('alice')
    const bob = agent('bob')
    const carol = agent('carol')
    await start(alice)
    await start(bob)
    await seesAll(alice.env, ['bob'])

    const w = startWatch(bob)
    watchers.push(w.proc)
    const hello = await w.waitFor<WatchingJson>((l) => l.type === 'watching')
    expect(hello.node.name).toBe('bob')

    const sent = await cliJson<TaskJson>(['delegate', '--to', 'bob', '--task', 'look at this'], alice.env)
    const task = await w.waitFor<EventJson>((l) => l.type === 'task')
    expect(task).toMatchObject({ id: sent.id, task: 'look at this', from: { name: 'alice' } })
    expect(task.seq).toBeGreaterThan(hello.seq)

    await cliJson(['broadcast', '--content', 'the build is green', '--topic', 'ci'], alice.env)
    const b = await w.waitFor<EventJson>((l) => l.type === 'broadcast')
    expect(b).toMatchObject({ topic: 'ci', content: 'the build is green' })

    const put = await cli(['file-put', '--key', 'notes/plan.md', '--file', '-'], alice.env, {
      input: '# plan\n',
    })
    expect(put.code, put.stderr).toBe(0)
    const f = await w.waitFor<EventJson>((l) => l.type === 'file_updated')
    expect(f).toMatchObject({ key: 'notes/plan.md', version: 1, from: { name: 'alice' } })

    const c = await start(carol)
    const joined = await w.waitFor<PeerEventJson>((l) => l.type === 'peer_online' && l.peer.name === 'carol')
    expect(joined).toMatchObject({ reason: 'joined', peer: { id: c.peerId, status: 'online' } })
    expect(await c.stop('SIGTERM')).toBe(0)
    const left = await w.waitFor<PeerEventJson>((l) => l.type === 'peer_offline' && l.peer.name === 'carol')
    expect(left.reason).toBe('left')

    // watching did not take them: poll still hands each out once, in order of urgency then age
    const polled = await cliJson<EventJson[]>(['poll'], bob.env)
    expect(polled.map((e) => e.type).sort()).toEqual(['broadcast', 'file_updated', 'task'])
    expect(await cliJson<EventJson[]>(['poll'], bob.env)).toEqual([])
    // every line is valid, and nothing arrived twice
    const seqs = w.events().map((e) => e.seq)
    expect(new Set(seqs).size).toBe(seqs.length)

    // --since replays the log; --type filters; --count ends it with 0
    const replay = await cli(
      ['watch', '--json', '--since', '0', '--type', 'task,broadcast', '--count', '2'],
      bob.env,
    )
    expect(replay.code, replay.stderr).toBe(0)
    const replayed = replay.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Line)
      .filter((l) => l.type !== 'watching')
    expect(replayed.map((l) => l.type)).toEqual(['task', 'broadcast'])
    expect((replayed[0] as EventJson).id).toBe(sent.id)
  })

  it('watch reconnects after the node is killed and resumes without losing or repeating an event', async () => {
    const agent = agentMesh(homes)
    const alice = agent('alice')
    const bob = agent('bob')
    await start(alice)
    let b = await start(bob)
    await seesAll(alice.env, ['bob'])
    const w = startWatch(bob, ['--type', 'task'])
    watchers.push(w.proc)
    await w.waitFor((l) => l.type === 'watching')
    const first = await cliJson<TaskJson>(['delegate', '--to', 'bob', '--task', 'one'], alice.env)
    await w.waitFor((l) => 'id' in l && l.id === first.id)

    await b.stop('SIGKILL')
    // sent while bob is down: alice's outbox holds it until bob is back
    const second = await cliJson<TaskJson>(['delegate', '--to', 'bob', '--task', 'two'], alice.env)
    b = await start(bob)
    await w.waitFor((l) => 'id' in l && l.id === second.id, 30_000)
    expect(w.events().map((e) => e.id)).toEqual([first.id, second.id])
    expect(w.stderr()).toContain('reconnecting')
    expect(w.proc.exitCode).toBeNull()
  })

  it('bad watch input is a usage error; no node is a clear error', async () => {
    const agent = agentMesh(homes)
    const alice = agent('alice')
    const none = await cli(['watch', '--json'], alice.env)
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/no node named alice is running/)
    const bad = await cli(['watch', '--type', 'tasks'], alice.env)
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('unknown event type "tasks"')
    const since = await cli(['watch', '--since', '-1'], alice.env)
    expect(since.code).toBe(2)
  })

  it('--wake-url wakes the gateway for a task and for its response; --on-event gets the JSON', async () => {
    const gw = await fakeGateway(1)
    servers.push(gw.server)
    const agent = agentMesh(homes)
    const alice = agent('alice')
    const bob = agent('bob')
    const hookFile = join(bob.home, 'events.jsonl')
    await start(alice, ['--wake-url', gw.url])
    alice.env.CLAWLINK_WAKE_TOKEN = 'alice-token'
    // the token from the environment: restart alice with it set
    await procs[0]!.stop('SIGTERM')
    procs.shift()
    await start(alice, ['--wake-url', gw.url])
    await start(bob, [
      '--wake-url',
      gw.url,
      '--wake-token',
      'bob-token',
      '--wake-agent',
      'bob-agent',
      '--wake-session',
      'hook:clawlink:bob',
      '--on-event',
      `cat >> '${hookFile}'`,
    ])
    await seesAll(alice.env, ['bob'])

    const sent = await cliJson<TaskJson>(
      ['delegate', '--to', 'bob', '--task', 'summarise the logs'],
      alice.env,
    )
    // the first attempt got a 503: the retry is what arrives
    const wakeBob = await eventually(async () => gw.requests.find((r) => r.auth === 'Bearer bob-token'))
    expect(wakeBob.path).toBe('/hooks/wake')
    // a notice the node wrote, routed to bob's agent and session; alice's words stay out of bob's prompt
    expect(wakeBob.body).toEqual({
      text: `ClawLink (bob): new task ${sent.id} from alice (normal). Read with: clawlink poll --as bob --json`,
      mode: 'now',
      agentId: 'bob-agent',
      sessionKey: 'hook:clawlink:bob',
    })
    const hooked = await eventually(async () => {
      const text = readFileSync(hookFile, 'utf8').trim()
      return text === '' ? undefined : (JSON.parse(text.split('\n')[0]!) as EventJson)
    })
    expect(hooked).toMatchObject({ type: 'task', id: sent.id, task: 'summarise the logs' })

    const done = await cli(['respond', '--msg-id', sent.id, '--result', 'all quiet'], bob.env)
    expect(done.code, done.stderr).toBe(0)
    const wakeAlice = await eventually(async () =>
      gw.requests.find((r) => r.auth === 'Bearer alice-token' && r.body.text.includes('completed')),
    )
    expect(wakeAlice.body.text).toContain(sent.id)
    expect(wakeAlice.body.text).toContain('clawlink poll --as alice')
    expect(Object.keys(wakeAlice.body)).toEqual(['text', 'mode'])
  })

  it('a gateway that is down is logged and never holds up delivery', async () => {
    const gw = await fakeGateway()
    const deadUrl = gw.url
    gw.server.close()
    const agent = agentMesh(homes)
    const alice = agent('alice')
    const bob = agent('bob')
    await start(alice)
    const b = await start(bob, ['--wake-url', deadUrl])
    await seesAll(alice.env, ['bob'])
    const sent = await cliJson<TaskJson>(['delegate', '--to', 'bob', '--task', 'still arrives'], alice.env)
    const polled = await cliJson<EventJson[]>(['poll', '--wait', '10'], bob.env)
    expect(polled.map((e) => e.id)).toEqual([sent.id])
    const failed = await eventually(async () => b.events.find((e) => e.event === 'wake_failed'), 20_000)
    expect(failed).toMatchObject({ url: deadUrl, events: 1 })
    expect(String(failed.reason)).toMatch(/ECONNREFUSED/)
  })

  it('a bad --wake-url or --wake-on is refused at start', async () => {
    const agent = agentMesh(homes)
    const alice = agent('alice')
    const ftp = await cli(['node', '--name', 'alice', '--wake-url', 'ftp://x/hooks'], alice.env)
    expect(ftp.code).toBe(2)
    expect(ftp.stderr).toContain('--wake-url must be http:// or https://')
    const junk = await cli(['node', '--name', 'alice', '--wake-url', 'not a url'], alice.env)
    expect(junk.code).toBe(2)
    const on = await cli(['node', '--name', 'alice', '--wake-on', 'task,nope'], alice.env)
    expect(on.code).toBe(2)
    expect(on.stderr).toContain('unknown event type "nope"')
    const url = ['--wake-url', 'http://127.0.0.1:9/hooks/wake']
    const bad: Array<[string[], string]> = [
      [[...url, '--wake-agent', 'a\nb'], '--wake-agent must not contain control characters'],
      [[...url, '--wake-session', 'x'.repeat(257)], '--wake-session must be 1-256 characters'],
      [[...url, '--wake-session', ''], '--wake-session'],
      [[...url, '--wake-text', 'everything'], '--wake-text must be notice or full'],
      [['--wake-agent', 'main'], '--wake-agent needs --wake-url'],
    ]
    for (const [args, message] of bad) {
      const r = await cli(['node', '--name', 'alice', '--no-mdns', ...args], alice.env)
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toContain(message)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
  })

  it('--wake-text full puts the task text in the wake-up, by choice', async () => {
    const gw = await fakeGateway()
    servers.push(gw.server)
    const agent = agentMesh(homes)
    const alice = agent('alice')
    const bob = agent('bob')
    await start(alice)
    await start(bob, ['--wake-url', gw.url, '--wake-text', 'full', '--wake-agent', 'main'])
    await seesAll(alice.env, ['bob'])
    const sent = await cliJson<TaskJson>(['delegate', '--to', 'bob', '--task', 'count the sheep'], alice.env)
    const wake = await eventually(async () => gw.requests[0])
    expect(wake.body.agentId).toBe('main')
    expect(wake.body.sessionKey).toBeUndefined()
    expect(wake.body.text).toContain(`new task ${sent.id} from alice (normal): "count the sheep"`)
  })
})
