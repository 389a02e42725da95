// `clawlink mcp --http` as remote clients reach it: the official MCP conformance suite, the SDK's own
// Streamable HTTP client in front of a real node, and the guards a browser or a LAN client meets.
import { type ChildProcess, spawn } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterEach, describe, expect, it } from 'vitest'
import type { FileJson } from '../../src/api/types.js'
import { type Agent, agentMesh, BIN, cli, eventually, type NodeProcess, startAgent } from '../helpers/cli.js'

const FORBID = fileURLToPath(new URL('../helpers/forbid-libp2p.mjs', import.meta.url))
const require = createRequire(import.meta.url)
const CONFORMANCE = join(
  dirname(require.resolve('@modelcontextprotocol/conformance/package.json')),
  (require('@modelcontextprotocol/conformance/package.json') as { bin: Record<string, string> }).bin
    .conformance!,
)
/** The suite's scenarios that apply to a server without its test fixtures (test_* tools, prompts). */
const SCENARIOS = ['server-initialize', 'ping', 'tools-list', 'tools-call-error', 'dns-rebinding-protection']

const TOKEN = 'a-long-enough-bearer-token-0123'

interface Served {
  proc: ChildProcess
  url: string
  stderr: () => string
}

function run(cmd: string, args: string[], timeout = 60_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString()
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, out })
    })
  })
}

/** POSTs an initialize with a chosen Host header (fetch will not send one). */
function statusWithHost(url: string, host: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          host,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
      },
      (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      },
    )
    req.on('error', reject)
    req.end(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    )
  })
}

describe('clawlink mcp --http', () => {
  const dirs: string[] = []
  const procs: NodeProcess[] = []
  const servers: ChildProcess[] = []
  const clients: Client[] = []
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()))
    for (const s of servers.splice(0)) s.kill('SIGKILL')
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })

  /** Starts `clawlink mcp --http ...` (libp2p imports forbidden) and waits for the URL it prints. */
  async function serve(agent: Agent, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
    const proc = spawn(process.execPath, ['--import', FORBID, BIN, 'mcp', '--as', agent.name, ...args], {
      env: { PATH: process.env.PATH, ...agent.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    servers.push(proc)
    let stdout = ''
    let stderr = ''
    proc.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    proc.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    const url = await eventually(async () => {
      if (proc.exitCode != null) throw new Error(`mcp --http exited ${proc.exitCode}: ${stderr}`)
      return /^(http:\/\/\S+\/mcp)\n/.exec(stdout)?.[1]
    }, 15_000)
    return { proc, url, stderr: () => stderr }
  }

  async function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
    const client = new Client({ name: 'clawlink-http-test', version: '1.0.0' })
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }))
    clients.push(client)
    return client
  }

  const post = (url: string, headers: Record<string, string>, body = initialize()) =>
    fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
      body,
    })

  function initialize(): string {
    return JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    })
  }

  it('passes the official conformance scenarios that apply (initialize, ping, tools-list, tool errors, DNS rebinding)', async () => {
    const alice = agentMesh(dirs)('alice')
    await startAgent(procs, alice)
    const { url } = await serve(alice, ['--http', '127.0.0.1:0'])
    for (const scenario of SCENARIOS) {
      const r = await run(process.execPath, [CONFORMANCE, 'server', '--url', url, '--scenario', scenario])
      expect(r.code, `${scenario}:\n${r.out}`).toBe(0)
      expect(r.out, scenario).toMatch(/Passed: (\d+)\/\1, 0 failed/)
      expect(r.out).not.toContain('FAILURE')
    }
  }, 120_000)

  it('serves every tool with truthful annotations, an exact context schema and flag-free errors', async () => {
    const alice = agentMesh(dirs)('alice')
    await startAgent(procs, alice)
    const { url } = await serve(alice, ['--http', '0'])
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/)
    const client = await connect(url)
    const { tools } = await client.listTools()
    expect(tools).toHaveLength(12)
    for (const t of tools) {
      const a = t.annotations!
      expect(t.title, t.name).toBe(a.title)
      expect(a.title?.length, t.name).toBeGreaterThan(3)
      for (const hint of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) {
        expect(typeof a[hint], `${t.name}.${hint}`).toBe('boolean')
      }
    }
    const hints = Object.fromEntries(
      tools.map((t) => [
        t.name,
        [t.annotations!.readOnlyHint, t.annotations!.destructiveHint, t.annotations!.openWorldHint],
      ]),
    )
    // read-only tools never destroy; the ones that only read this node stay in a closed world
    for (const name of ['discover', 'tasks', 'knowledge', 'file_list'])
      expect(hints[name]![0], name).toBe(true)
    for (const name of ['tasks', 'knowledge', 'file_list', 'poll']) expect(hints[name]![2], name).toBe(false)
    for (const name of ['cancel', 'file_put', 'file_get']) expect(hints[name]![1], name).toBe(true)
    for (const name of ['delegate', 'poll', 'respond', 'reply', 'broadcast'])
      expect(hints[name]!.slice(0, 2)).toEqual([false, false])

    const context = tools.find((t) => t.name === 'delegate')!.inputSchema.properties!.context as {
      anyOf: Array<{ type: string }>
      description: string
    }
    expect(context.anyOf.map((s) => s.type).sort()).toEqual(
      ['array', 'boolean', 'null', 'number', 'object', 'string'].sort(),
    )
    expect(context.description).toContain('any JSON value')

    const call = async (name: string, args: Record<string, unknown>) => {
      const r = await client.callTool({ name, arguments: args })
      return { isError: r.isError === true, text: (r.content as Array<{ text: string }>)[0]!.text }
    }
    expect((await call('discover', {})).isError).toBe(false)
    const put = await call('file_put', { key: 'plan.md', content: 'one', base: 0 })
    expect((JSON.parse(put.text) as FileJson).version).toBe(1)
    const stale = await call('file_put', { key: 'plan.md', content: 'two', base: 0 })
    expect(stale.isError).toBe(true)
    expect(stale.text).toContain('write again with base 1')
    expect(stale.text).not.toContain('--')
  }, 60_000)

  it('guards the port: Host and Origin (DNS rebinding, web pages), the token, the body size, the path', async () => {
    const agent = agentMesh(dirs)
    const alice = agent('alice')
    const { url } = await serve(alice, ['--http', '127.0.0.1:0', '--allow-origin', 'https://app.example'], {
      CLAWLINK_MCP_TOKEN: TOKEN,
    })
    const auth = { authorization: `Bearer ${TOKEN}` }
    const port = new URL(url).port
    expect((await post(url, auth)).status).toBe(200)
    expect((await post(url, {})).status).toBe(401)
    expect((await post(url, { authorization: 'Bearer wrong' })).status).toBe(401)
    // a page served from elsewhere, or a rebound DNS name pointing at 127.0.0.1
    expect((await post(url, { ...auth, origin: 'http://evil.example' })).status).toBe(403)
    expect((await post(url, { ...auth, origin: 'null' })).status).toBe(403)
    expect((await post(url, { ...auth, origin: `http://localhost:${port}` })).status).toBe(200)
    expect((await post(url, { ...auth, origin: 'https://app.example' })).status).toBe(200)
    expect(await statusWithHost(url, `evil.example:${port}`, auth)).toBe(403)
    expect(await statusWithHost(url, `localhost:${port}`, auth)).toBe(200)
    const big = await post(url, auth, `"${'a'.repeat(9 * 1024 * 1024)}"`).catch((err: Error) => err)
    // the server answers 413 and may close before the whole body is sent
    if (!(big instanceof Error)) expect(big.status).toBe(413)
    expect((await post(url.replace(/\/mcp$/, '/other'), auth)).status).toBe(404)
    expect((await post(url, auth, '{not json')).status).toBe(400)
    const client = await connect(url, auth)
    expect((await client.listTools()).tools).toHaveLength(12)
  }, 60_000)

  it('refuses to serve off loopback without a token, and bad values, with exit 2', async () => {
    const alice = agentMesh(dirs)('alice')
    const short = join(alice.home, 'short.token')
    writeFileSync(short, 'tiny\n')
    const cases: Array<[string[], NodeJS.ProcessEnv, string]> = [
      [['--http', '0.0.0.0:0'], {}, '--http on 0.0.0.0 is reachable from other hosts'],
      [
        ['--http', '10.1.2.3:8080'],
        { CLAWLINK_MCP_TOKEN: '' },
        'give --http-token-file or CLAWLINK_MCP_TOKEN',
      ],
      [['--http', 'localhost:99999'], {}, '--http expects [HOST:]PORT'],
      [['--http', '0', '--http-token-file', short], {}, 'at least 16 characters'],
      [['--http-token-file', short], {}, 'need --http'],
      [['--http', '0', '--allow-origin', 'evil.example'], {}, '--allow-origin'],
    ]
    for (const [args, env, message] of cases) {
      const r = await cli(['mcp', ...args], { ...alice.env, ...env })
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2)
      expect(r.stderr).toContain(message)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
  })
})
