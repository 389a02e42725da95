// `clawlink mcp` as an MCP client runs it: the SDK's own Client spawning the command over stdio, in front
// of real nodes.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { afterEach, describe, expect, it } from 'vitest'
import type { BroadcastJson, EventJson, FileJson, PeerJson, TaskJson } from '../../src/api/types.js'
import { type Agent, agentMesh, BIN, eventually, type NodeProcess, startAgent } from '../helpers/cli.js'

const FORBID = fileURLToPath(new URL('../helpers/forbid-libp2p.mjs', import.meta.url))
const TOOL_NAMES = [
  'discover',
  'delegate',
  'poll',
  'respond',
  'reply',
  'cancel',
  'tasks',
  'broadcast',
  'knowledge',
  'file_put',
  'file_get',
  'file_list',
]

interface Reply {
  isError: boolean
  text: string[]
}

interface Mcp {
  client: Client
  stderr: () => string
  call(name: string, args?: Record<string, unknown>): Promise<Reply>
  /** a call that must succeed, its first text block parsed as JSON */
  json<T>(name: string, args?: Record<string, unknown>): Promise<T>
}

describe('clawlink mcp', () => {
  const dirs: string[] = []
  const procs: NodeProcess[] = []
  const clients: Client[] = []
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()))
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })

  /** Spawns `clawlink mcp --as NAME` with libp2p imports forbidden, and connects the SDK client to it. */
  async function mcp(agent: Agent): Promise<Mcp> {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--import', FORBID, BIN, 'mcp', '--as', agent.name],
      env: { PATH: process.env.PATH ?? '', ...(agent.env as Record<string, string>) },
      stderr: 'pipe',
    })
    let stderr = ''
    transport.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    const client = new Client({ name: 'clawlink-test', version: '1.0.0' })
    await client.connect(transport)
    clients.push(client)
    const call = async (name: string, args: Record<string, unknown> = {}): Promise<Reply> => {
      const r = await client.callTool({ name, arguments: args })
      const content = r.content as Array<{ type: string; text: string }>
      return { isError: r.isError === true, text: content.map((c) => c.text) }
    }
    return {
      client,
      stderr: () => stderr,
      call,
      async json<T>(name: string, args: Record<string, unknown> = {}): Promise<T> {
        const r = await call(name, args)
        if (r.isError) throw new Error(`${name} failed: ${r.text.join('\n')}`)
        return JSON.parse(r.text[0]!) as T
      },
    }
  }

  it('lists every tool with an input schema and answers bad calls with tool errors, no node needed', async () => {
    const ghost = agentMesh(dirs)('ghost')
    const m = await mcp(ghost)
    expect(m.client.getServerVersion()?.name).toBe('clawlink')
    expect(m.client.getInstructions()).toContain('respond')
    const { tools } = await m.client.listTools()
    expect(tools.map((t) => t.name)).toEqual(TOOL_NAMES)
    for (const t of tools) {
      expect(t.description?.length, t.name).toBeGreaterThan(60)
      expect(t.inputSchema.type).toBe('object')
      expect(t.inputSchema.additionalProperties, t.name).toBe(false)
      // every hint stated, over stdio as over HTTP (test/e2e/mcp-http.test.ts checks the values)
      expect(Object.keys(t.annotations ?? {}).sort(), t.name).toEqual([
        'destructiveHint',
        'idempotentHint',
        'openWorldHint',
        'readOnlyHint',
        'title',
      ])
    }
    const schema = (name: string) => tools.find((t) => t.name === name)!.inputSchema
    expect(schema('delegate').required).toEqual(['task'])
    expect(schema('delegate').properties).toHaveProperty('wait_seconds.maximum', 300)
    expect(schema('poll').properties).toHaveProperty('wait_seconds.maximum', 300)
    expect(schema('respond').required).toEqual(['id', 'result'])
    expect(schema('file_get').required).toEqual(['key'])

    // no node: a clear tool error, and the server keeps serving
    const down = await m.call('discover')
    expect(down).toEqual({
      isError: true,
      text: ['no node named ghost is running; start one with: clawlink node --name ghost'],
    })
    expect(m.stderr()).toContain('no node named ghost is running')

    // validation failures: missing, misspelt, out of range, wrong type, contradictory
    const bad: Array<[string, Record<string, unknown>, RegExp]> = [
      ['delegate', { to: 'bob' }, /task/],
      ['delegate', { to: 'bob', taks: 'typo' }, /Unrecognized key.*taks/s],
      ['delegate', { to: 'bob', task: 'x', wait_seconds: 301 }, /wait_seconds/],
      ['delegate', { to: 'bob', task: 'x', priority: 'asap' }, /priority/],
      ['delegate', { to: 'bob', cap: 'code', task: 'x' }, /give exactly one of to and cap/],
      ['delegate', { task: 'x' }, /give exactly one of to and cap/],
      ['poll', { wait_seconds: -1 }, /wait_seconds/],
      ['poll', { limit: 'ten' }, /limit/],
      ['respond', { id: 'abc' }, /result/],
      ['broadcast', { content: 'x', tags: Array.from({ length: 17 }, (_, i) => `t${i}`) }, /tags/],
      ['file_put', { key: 'a.txt' }, /give exactly one of content and path/],
      [
        'file_put',
        { key: 'a.txt', content: 'x', path: '/etc/hostname' },
        /give exactly one of content and path/,
      ],
      ['file_get', { key: 'a.txt', max_bytes: 10 * 1024 * 1024 }, /max_bytes/],
      ['knowledge', { since: 'last tuesday' }, /since expects an ISO time or a duration/],
    ]
    for (const [name, args, message] of bad) {
      const r = await m.call(name, args)
      expect(r.isError, `${name} ${JSON.stringify(args)}`).toBe(true)
      expect(r.text.join('\n')).toMatch(message)
    }
    const unknown = await m.call('frobnicate')
    expect(unknown.isError).toBe(true)
    expect(unknown.text[0]).toContain('frobnicate not found')
    expect((await m.client.listTools()).tools).toHaveLength(TOOL_NAMES.length)

    // the client going away (stdin closed) ends the server at once: the SDK would signal it after 2 s
    const transport = m.client.transport as StdioClientTransport
    const pid = transport.pid!
    const closing = Date.now()
    await transport.close()
    expect(Date.now() - closing).toBeLessThan(1_500)
    expect(() => process.kill(pid, 0)).toThrow()
  })

  it('two agents delegate, poll, respond, cancel, broadcast and share files through their MCP servers', async () => {
    const agent = agentMesh(dirs)
    const alice = agent('alice')
    const bob = agent('bob')
    const [, bobNode] = await Promise.all([
      startAgent(procs, alice, ['--caps', 'planning']),
      startAgent(procs, bob, ['--caps', 'code']),
    ])
    const [a, b] = await Promise.all([mcp(alice), mcp(bob)])

    const bobSeen = await eventually(async () => {
      const peers = await a.json<PeerJson[]>('discover', { cap: 'code' })
      return peers.find((p) => p.name === 'bob')
    })
    expect(bobSeen.caps).toEqual(['code'])
    await eventually(async () =>
      (await b.json<PeerJson[]>('discover')).some((p) => p.name === 'alice') ? true : undefined,
    )

    // bob waits for work; the long poll does not hold up his other calls
    const started = Date.now()
    const bobPoll = b.json<EventJson[]>('poll', { wait_seconds: 30 })
    expect(await b.json<TaskJson[]>('tasks')).toEqual([])
    expect(Date.now() - started).toBeLessThan(5_000)

    const sent = await a.json<TaskJson>('delegate', {
      to: 'bob',
      task: 'summarize the logs',
      context: { files: ['a.log'], depth: 2 },
      priority: 'high',
    })
    expect(sent).toMatchObject({ direction: 'sent', to: { name: 'bob' }, priority: 'high' })
    const [event] = await bobPoll
    expect(event).toMatchObject({
      type: 'task',
      id: sent.id,
      from: { name: 'alice' },
      task: 'summarize the logs',
      context: { files: ['a.log'], depth: 2 },
      priority: 'high',
    })

    // bob answers; alice's poll(wait) gets the result
    const done = await b.json<TaskJson>('respond', { id: sent.id, result: 'three errors, all timeouts' })
    expect(done).toMatchObject({ id: sent.id, state: 'completed', direction: 'received' })
    // errors speak the tools' argument names, not the CLI's flags
    const notYours = await b.call('cancel', { id: sent.id })
    expect(notYours.isError).toBe(true)
    expect(notYours.text[0]).toContain('respond with status rejected')
    expect(notYours.text[0]).not.toContain('--')
    const update = await eventually(async () => {
      const events = await a.json<EventJson[]>('poll', { wait_seconds: 10 })
      return events.find((e) => e.type === 'task_update' && e.id === sent.id && e.state === 'completed')
    })
    expect(update.result).toBe('three errors, all timeouts')

    // a poll the client cancels ends on the node too: what arrives later waits for the next poll
    const abort = new AbortController()
    const aborted = b.client.callTool({ name: 'poll', arguments: { wait_seconds: 30 } }, undefined, {
      signal: abort.signal,
    })
    await new Promise((r) => setTimeout(r, 300))
    abort.abort()
    await expect(aborted).rejects.toThrow()

    // delegate(wait): blocks alice's call until bob's respond arrives, by capability this time
    const waiting = a.json<TaskJson>('delegate', { cap: 'code', task: 'add 2 and 40', wait_seconds: 60 })
    const [ask] = await eventually(async () => {
      const events = await b.json<EventJson[]>('poll', { wait_seconds: 10 })
      return events.length > 0 ? events : undefined
    })
    expect(ask).toMatchObject({ type: 'task', task: 'add 2 and 40' })
    await b.json<TaskJson>('respond', { id: ask!.id, status: 'working', result: 'adding' })
    await b.json<TaskJson>('respond', { id: ask!.id, status: 'completed', result: '42', to: 'alice' })
    expect(await waiting).toMatchObject({ id: ask!.id, state: 'completed', result: '42' })

    // bob asks alice a question (input-required); alice's reply tool answers, bob's poll gets it once
    const q = await a.json<TaskJson>('delegate', { to: 'bob', task: 'book a table' })
    const pollFor = (m: Mcp, match: (e: EventJson) => boolean) =>
      eventually(async () => (await m.json<EventJson[]>('poll', { wait_seconds: 5 })).find(match))
    await pollFor(b, (e) => e.id === q.id)
    await b.json<TaskJson>('respond', { id: q.id, status: 'input-required', result: 'how many?' })
    const question = await pollFor(a, (e) => e.id === q.id && e.state === 'input-required')
    expect(question.result).toBe('how many?')
    expect(await a.json<TaskJson>('reply', { id: q.id, message: 'four' })).toMatchObject({ state: 'working' })
    expect(await pollFor(b, (e) => e.type === 'task_reply')).toMatchObject({ id: q.id, message: 'four' })
    await b.json<TaskJson>('respond', { id: q.id, result: 'booked for four' })
    await eventually(async () =>
      (await a.json<TaskJson[]>('tasks', { id: q.id }))[0]?.state === 'completed' ? true : undefined,
    )

    // a final task cannot be answered again; a wait that ends first returns the open task
    const again = await b.call('respond', { id: ask!.id, result: '43' })
    expect(again.isError).toBe(true)
    const open = await a.json<TaskJson>('delegate', { to: 'bob', task: 'slow one', wait_seconds: 1 })
    expect(['submitted', 'delivered']).toContain(open.state)
    const canceled = await a.json<TaskJson>('cancel', { id: open.id, reason: 'not needed' })
    expect(canceled).toMatchObject({ id: open.id, state: 'canceled' })
    const mine = await a.json<TaskJson[]>('tasks', { id: open.id })
    expect(mine.map((t) => t.state)).toEqual(['canceled'])
    expect((await a.json<TaskJson[]>('tasks', { open: true })).length).toBe(0)

    // an unknown target is a tool error naming the agents it knows
    const nobody = await a.call('delegate', { to: 'nobody', task: 'x' })
    expect(nobody.isError).toBe(true)
    expect(nobody.text[0]).toMatch(/no agent "nobody"/)
    expect(nobody.text[0]).toContain('bob')

    // broadcast and knowledge
    const said = await a.json<BroadcastJson>('broadcast', {
      content: 'the build is green again',
      topic: 'ci',
      tags: ['build', 'good-news'],
    })
    expect(said).toMatchObject({ author: { name: 'alice' }, topic: 'ci', tags: ['build', 'good-news'] })
    const heard = await eventually(async () => {
      const list = await b.json<BroadcastJson[]>('knowledge', { topic: 'ci', since: '1h' })
      return list.find((k) => k.id === said.id)
    })
    expect(heard.content).toBe('the build is green again')
    expect(await b.json<BroadcastJson[]>('knowledge', { tag: 'nope' })).toEqual([])
    const badTopic = await a.call('broadcast', { content: 'x', topic: 'Not A Topic!' })
    expect(badTopic.isError).toBe(true)

    // files: text content and a local file on alice, listed and read on bob
    const work = mkdtempSync(join(tmpdir(), 'clawlink-mcp-'))
    dirs.push(work)
    const put = await a.json<FileJson>('file_put', {
      key: 'notes/plan.md',
      content: '# Plan\n\nShip it. Ünïcödé.\n',
    })
    expect(put).toMatchObject({ key: 'notes/plan.md', version: 1, mediaType: 'text/markdown' })
    const blob = join(work, 'blob.bin')
    writeFileSync(blob, Buffer.from([0, 1, 2, 255, 254, 0, 7]))
    await a.json<FileJson>('file_put', { key: 'data/blob.bin', path: blob })
    // the node's own keys are refused, and an agent cannot force them out
    const identity = join(alice.home, 'agents', 'alice', 'identity.key')
    const leak = await a.call('file_put', { key: 'leak.bin', path: identity })
    expect(leak.isError).toBe(true)
    expect(leak.text.join('\n')).toMatch(/refusing to share .*identity\.key: it is this node's identity key/)
    expect((await a.call('file_put', { key: 'leak.bin', path: identity, force: true })).isError).toBe(true)
    const long = 'x'.repeat(5000)
    await a.json<FileJson>('file_put', { key: 'notes/long', content: long })
    const listed = await eventually(async () => {
      const files = await b.json<FileJson[]>('file_list', { prefix: 'notes/' })
      return files.length === 2 ? files : undefined
    })
    expect(listed.map((f) => f.key).sort()).toEqual(['notes/long', 'notes/plan.md'])

    const got = await b.call('file_get', { key: 'notes/plan.md' })
    expect(got.isError).toBe(false)
    expect(JSON.parse(got.text[0]!)).toMatchObject({
      key: 'notes/plan.md',
      version: 1,
      author: { name: 'alice' },
    })
    expect(got.text[1]).toBe('# Plan\n\nShip it. Ünïcödé.\n')
    expect(got.text).toHaveLength(2)

    const cut = await b.call('file_get', { key: 'notes/long', max_bytes: 1000 })
    expect(JSON.parse(cut.text[0]!)).toMatchObject({ mediaType: 'text/plain; charset=utf-8', size: 5000 })
    expect(cut.text[1]).toBe('x'.repeat(1000))
    expect(cut.text[2]).toMatch(/truncated: the first 1000 of 5000 bytes/)

    const bin = await eventually(async () => {
      const r = await b.call('file_get', { key: 'data/blob.bin' })
      return r.isError ? undefined : r
    })
    expect(bin.text[1]).toMatch(/binary content, 7 bytes .*save_to/)
    const saved = join(work, 'copy.bin')
    const savedReply = await b.json<{ savedTo: string; size: number }>('file_get', {
      key: 'data/blob.bin',
      save_to: saved,
    })
    expect(savedReply).toMatchObject({ savedTo: saved, size: 7 })
    expect(readFileSync(saved)).toEqual(readFileSync(blob))
    expect(statSync(saved).mode & 0o777).toBe(0o600)

    // compare-and-swap refused, then an update seen by bob
    const stale = await b.call('file_put', { key: 'notes/plan.md', content: 'mine', base: 0 })
    expect(stale.isError).toBe(true)
    expect(stale.text[0]).toContain('write again with base 1')
    expect(stale.text[0]).not.toContain('--')
    await b.json<FileJson>('file_put', { key: 'notes/plan.md', content: '# Plan v2\n', base: 1 })
    await eventually(async () => {
      const r = await a.call('file_get', { key: 'notes/plan.md' })
      return r.text[1] === '# Plan v2\n' ? true : undefined
    })
    const missing = await b.call('file_get', { key: 'notes/none.md' })
    expect(missing.isError).toBe(true)

    // bob's node stops: his tools say so, and his server still answers
    await bobNode!.stop('SIGKILL')
    const gone = await b.call('tasks')
    expect(gone.isError).toBe(true)
    expect(gone.text[0]).toMatch(/no node named bob is running|node bob .* is not running/)
    expect((await b.client.listTools()).tools).toHaveLength(TOOL_NAMES.length)
    expect(a.stderr()).toBe('')
  })
  it('carries a NUL inside a task and a result intact, and refuses lone surrogates with a tool error', async () => {
    const agent = agentMesh(dirs)
    const alice = agent('alice')
    const bob = agent('bob')
    await Promise.all([startAgent(procs, alice), startAgent(procs, bob)])
    const [a, b] = await Promise.all([mcp(alice), mcp(bob)])
    await eventually(async () =>
      (await a.json<PeerJson[]>('discover')).some((p) => p.name === 'bob') ? true : undefined,
    )
    const task = 'part one\u0000part two'
    const sent = await a.json<TaskJson>('delegate', { to: 'bob', task })
    expect(sent.task).toBe(task)
    const got = await eventually(async () =>
      (await b.json<EventJson[]>('poll')).find((e) => e.id === sent.id),
    )
    expect(got.task).toBe(task)
    await b.json('respond', { id: sent.id, result: 'ok\u0000tail' })
    const done = await eventually(async () => {
      const t = (await a.json<TaskJson[]>('tasks', { id: sent.id }))[0]
      return t?.state === 'completed' ? t : undefined
    })
    expect(done.result).toBe('ok\u0000tail')

    const lone = await a.call('delegate', { to: 'bob', task: 'half \ud800 a pair' })
    expect(lone).toEqual({ isError: true, text: ['task is not valid Unicode (a lone surrogate)'] })
    const tag = await a.call('broadcast', { content: 'x', tags: ['\udc00'] })
    expect(tag).toEqual({ isError: true, text: ['tags[0] is not valid Unicode (a lone surrogate)'] })
    expect((await a.json<TaskJson[]>('tasks')).map((t) => t.id)).toEqual([sent.id])
  })
})
