// `clawlink mcp`: a Model Context Protocol server whose tools drive this agent's running node through its
// control API, as the CLI commands do. On stdio (here) stdout is the protocol channel and diagnostics go
// to stderr; `--http` serves the same tools over Streamable HTTP (http.ts).
import type { Readable, Writable } from 'node:stream'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { keptClient } from '../client/connect.js'
import { createToolServer, errorText, type ToolTarget } from './server.js'
import { MAX_WAIT_SECONDS, TOOLS } from './tools.js'

export { type McpHttpOptions, type RunningMcpHttpServer, startMcpHttpServer } from './http.js'
export { MAX_WAIT_SECONDS, TOOLS }

export interface McpServerOptions extends ToolTarget {
  stdin?: Readable
  stdout?: Writable
}

export interface RunningMcpServer {
  /** resolves when the client goes away (stdin ends) or close() is called */
  closed: Promise<void>
  close(): Promise<void>
}

/** Serves the ClawLink tools on stdio until the client closes stdin. */
export async function startMcpServer(opts: McpServerOptions): Promise<RunningMcpServer> {
  const node = keptClient(opts.node, opts.env)
  const server = createToolServer(node)
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
