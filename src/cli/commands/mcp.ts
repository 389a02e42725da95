import { connectTo } from '../../client/connect.js'
import { type Command, str } from '../command.js'

export const mcp: Command = {
  name: 'mcp',
  summary: 'serve the ClawLink tools to an MCP client (Model Context Protocol, stdio)',
  usage: 'mcp [--as NAME | --data-dir DIR]',
  details:
    'Speaks MCP (JSON-RPC) on stdin/stdout for an MCP client that starts it, such as Claude Desktop or\n' +
    'OpenClaw. Tools: discover, delegate, poll, respond, cancel, tasks, broadcast, knowledge, file_put,\n' +
    'file_get, file_list; each calls the running node picked by --as, --data-dir or CLAWLINK_AGENT (at\n' +
    'every call: the node may start later). Tool failures come back as tool errors. Waits are capped at\n' +
    '300 s. Client config: {"mcpServers": {"clawlink": {"command": "clawlink", "args": ["mcp", "--as",\n' +
    '"NAME"]}}}. Diagnostics go to stderr; the server ends when stdin closes.',
  options: {},
  async run(ctx) {
    // stdout carries the protocol: anything a library logs goes to stderr instead
    for (const level of ['log', 'info', 'debug', 'warn'] as const) console[level] = console.error
    // loaded here, not at the top: the SDK is only needed by this command, and every other CLI call stays fast
    const { startMcpServer } = await import('../../mcp/index.js')
    const node = { as: str(ctx, 'as'), dataDir: str(ctx, 'data-dir') }
    const server = await startMcpServer({ node, env: ctx.env })
    try {
      connectTo(node, ctx.env)
    } catch (err) {
      process.stderr.write(`clawlink mcp: ${(err as Error).message}; the tools fail until it runs\n`)
    }
    if (process.stdin.isTTY === true) {
      process.stderr.write(
        'clawlink mcp: serving MCP on stdin/stdout; an MCP client starts this command (see docs/cli.md)\n',
      )
    }
    await server.closed
    return 0
  },
}
