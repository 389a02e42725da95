// `clawlink mcp`: a Model Context Protocol server on stdio whose tools drive this agent's running node
// through its control API, as the CLI commands do. stdout is the protocol channel; diagnostics go to stderr.
import type { Readable, Writable } from 'node:stream'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { type KeptClient, keptClient } from '../client/connect.js'
import type { NodeSelection } from '../client/select-node.js'
import { VERSION } from '../version.js'
import { keepAlive } from './keep-alive.js'
import { MAX_WAIT_SECONDS, TOOLS, type Tool, type ToolContext } from './tools.js'

export { MAX_WAIT_SECONDS, TOOLS }

const INSTRUCTIONS =
  'These tools connect you to a ClawLink mesh: a private peer-to-peer network of AI agents. Use ' +
  '`discover` to see who is there, `delegate` to hand work to another agent and `poll` to receive work ' +
  'and results; when `poll` returns a `task` event, do the task and answer it with `respond` (same id). ' +
  '`broadcast`/`knowledge` share findings with everyone; `file_put`/`file_get`/`file_list` use a file ' +
  `map every agent shares. Waits (\`wait_seconds\`) are capped at ${MAX_WAIT_SECONDS} seconds.`

export interface McpServerOptions {
  /** which running node the tools use (as `--as`/`--data-dir`/CLAWLINK_AGENT pick it) */
  node: NodeSelection
  env: NodeJS.ProcessEnv
  stdin?: Readable
  stdout?: Writable
}

export interface RunningMcpServer {
  /** resolves when the client goes away (stdin ends) or close() is called */
  closed: Promise<void>
  close(): Promise<void>
}

function errorText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message !== '' ? message : 'the call failed'
}

function register(server: McpServer, tool: Tool, node: KeptClient): void {
  server.registerTool(
    tool.name,
    { description: tool.description, inputSchema: tool.input },
    async (args, extra): Promise<CallToolResult> => {
      const ctx: ToolContext = {
        api: () => node.get(),
        signal: extra.signal,
        keepAlive: (seconds) =>
          keepAlive(extra._meta?.progressToken, seconds, (params) =>
            extra.sendNotification({ method: 'notifications/progress', params }),
          ),
      }
      try {
        const reply = await tool.run(args, ctx)
        return { content: reply.text.map((text) => ({ type: 'text', text })) }
      } catch (err) {
        // a tool error the model can read and act on; the server carries on
        return { content: [{ type: 'text', text: errorText(err) }], isError: true }
      }
    },
  )
}

/** Serves the ClawLink tools on stdio until the client closes stdin. */
export async function startMcpServer(opts: McpServerOptions): Promise<RunningMcpServer> {
  const server = new McpServer({ name: 'clawlink', version: VERSION }, { instructions: INSTRUCTIONS })
  // a long-lived client making many calls: its connections to the node are kept between them
  const node = keptClient(opts.node, opts.env)
  for (const tool of TOOLS) register(server, tool, node)
  const stdin = opts.stdin ?? process.stdin
  const stdout = opts.stdout ?? process.stdout
  const transport = new StdioServerTransport(stdin, stdout)
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = () => {
      node.close()
      resolve()
    }
  })
  server.server.onerror = (err) => process.stderr.write(`clawlink mcp: ${errorText(err)}\n`)
  await server.connect(transport)
  // the SDK's transport does not notice the client going away: stdin ending (or stdout breaking) is that signal
  const onEnd = () => {
    server.close().catch(() => {})
  }
  stdin.once('end', onEnd)
  stdin.once('close', onEnd)
  stdout.on('error', onEnd)
  return {
    closed,
    close: () => server.close(),
  }
}
