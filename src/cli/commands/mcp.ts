import { connectTo } from '../../client/connect.js'
import { isLoopbackHost, parseHostPort } from '../../rules/listen.js'
import { type Command, type CommandContext, list, str } from '../command.js'
import { UsageError } from '../errors.js'
import { readSecretFile } from '../node-args.js'

/** Shorter than this, a bearer token guessed over the network is a matter of time. */
const MIN_HTTP_TOKEN = 16

export const mcp: Command = {
  name: 'mcp',
  summary: 'serve the ClawLink tools to an MCP client (Model Context Protocol, stdio or HTTP)',
  usage:
    'mcp [--as NAME | --data-dir DIR] [--http [HOST:]PORT [--http-token-file FILE] [--allow-origin ORIGIN]...]',
  details:
    'Speaks MCP (JSON-RPC) on stdin/stdout for an MCP client that starts it, such as OpenClaw or Claude\n' +
    'Desktop. Tools: discover, delegate, poll, respond, cancel, tasks, broadcast, knowledge, file_put,\n' +
    'file_get, file_list; each calls the running node picked by --as, --data-dir or CLAWLINK_AGENT (at\n' +
    'every call: the node may start later). Tool failures come back as tool errors. Waits are capped at\n' +
    '300 s. OpenClaw keeps it under mcp.servers.clawlink: openclaw mcp set clawlink\n' +
    '\'{"command":"clawlink","args":["mcp","--as","NAME"]}\' (Claude Desktop: mcpServers).\n' +
    'With --http it serves Streamable HTTP at http://HOST:PORT/mcp instead (HOST default 127.0.0.1),\n' +
    'prints that URL on stdout and runs until SIGINT/SIGTERM; off loopback it needs a bearer token\n' +
    '(--http-token-file or CLAWLINK_MCP_TOKEN). Diagnostics go to stderr.',
  options: {
    http: {
      type: 'string',
      value: '[HOST:]PORT',
      description: 'serve MCP over Streamable HTTP at /mcp (HOST default 127.0.0.1) instead of stdio',
    },
    'http-token-file': {
      type: 'string',
      value: 'FILE',
      description: 'the bearer token HTTP clients must send, from FILE (one line); or CLAWLINK_MCP_TOKEN',
    },
    'allow-origin': {
      type: 'string',
      value: 'ORIGIN',
      multiple: true,
      description: 'a browser Origin allowed besides loopback ones (scheme://host[:port])',
    },
  },
  async run(ctx) {
    const node = { as: str(ctx, 'as'), dataDir: str(ctx, 'data-dir') }
    if (str(ctx, 'http') != null) return serveHttp(ctx, node)
    if (str(ctx, 'http-token-file') != null || list(ctx, 'allow-origin').length > 0)
      throw new UsageError('--http-token-file and --allow-origin need --http', ctx.command)
    // stdout carries the protocol: anything a library logs goes to stderr instead
    for (const level of ['log', 'info', 'debug', 'warn'] as const) console[level] = console.error
    // loaded here, not at the top: the SDK is only needed by this command, and every other CLI call stays fast
    const { startMcpServer } = await import('../../mcp/index.js')
    const server = await startMcpServer({ node, env: ctx.env })
    checkNode(node, ctx)
    if (process.stdin.isTTY === true) {
      process.stderr.write(
        'clawlink mcp: serving MCP on stdin/stdout; an MCP client starts this command (see docs/cli.md)\n',
      )
    }
    await server.closed
    return 0
  },
}

/** Says at start when no node answers: the tools fail until one runs. */
function checkNode(node: { as?: string; dataDir?: string }, ctx: CommandContext): void {
  try {
    connectTo(node, ctx.env)
  } catch (err) {
    process.stderr.write(`clawlink mcp: ${(err as Error).message}; the tools fail until it runs\n`)
  }
}

async function serveHttp(ctx: CommandContext, node: { as?: string; dataDir?: string }): Promise<number> {
  let listen: { host: string; port: number }
  try {
    listen = parseHostPort(str(ctx, 'http')!, '--http', '127.0.0.1')
  } catch (err) {
    throw new UsageError((err as Error).message, ctx.command)
  }
  const file = str(ctx, 'http-token-file')
  const fromEnv = ctx.env.CLAWLINK_MCP_TOKEN
  const token = file != null ? readSecretFile(file, 'http-token-file') : fromEnv !== '' ? fromEnv : undefined
  if (token != null && token.length < MIN_HTTP_TOKEN)
    throw new UsageError(`the MCP bearer token must be at least ${MIN_HTTP_TOKEN} characters`, ctx.command)
  if (token == null && !isLoopbackHost(listen.host)) {
    throw new UsageError(
      `--http on ${listen.host} is reachable from other hosts: give --http-token-file or CLAWLINK_MCP_TOKEN`,
      ctx.command,
    )
  }
  const allowedOrigins = list(ctx, 'allow-origin')
  for (const origin of allowedOrigins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin))
      throw new UsageError(`--allow-origin ${JSON.stringify(origin)}: give scheme://host[:port]`, ctx.command)
  }
  const { startMcpHttpServer } = await import('../../mcp/index.js')
  const server = await startMcpHttpServer({ node, env: ctx.env, ...listen, token, allowedOrigins })
  process.stdout.write(`${server.url}\n`)
  checkNode(node, ctx)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await server.close()
  return 0
}
