// One MCP server object with the ClawLink tools registered: stdio serves one, HTTP one per session.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import type { KeptClient } from '../client/connect.js'
import type { NodeSelection } from '../client/select-node.js'
import { VERSION } from '../version.js'
import { AnswerHooks } from './answer-hooks.js'
import { keepAlive } from './keep-alive.js'
import { MAX_WAIT_SECONDS, TOOLS, type Tool, type ToolContext } from './tools.js'

const INSTRUCTIONS =
  'These tools connect you to a ClawLink mesh: a private peer-to-peer network of AI agents. Use ' +
  '`discover` to see who is there, `delegate` to hand work to another agent and `poll` to receive work ' +
  'and results; when `poll` returns a `task` event, do the task and answer it with `respond` (same id). ' +
  '`broadcast`/`knowledge` share findings with everyone; `file_put`/`file_get`/`file_list` use a file ' +
  `map every agent shares. Waits (\`wait_seconds\`) are capped at ${MAX_WAIT_SECONDS} seconds.`

export interface ToolTarget {
  /** which running node the tools use (as `--as`/`--data-dir`/CLAWLINK_AGENT pick it) */
  node: NodeSelection
  env: NodeJS.ProcessEnv
}

export function errorText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  return message !== '' ? message : 'the call failed'
}

function register(server: McpServer, tool: Tool, node: KeptClient, answers: AnswerHooks): void {
  server.registerTool(
    tool.name,
    {
      title: tool.annotations.title,
      description: tool.description,
      inputSchema: tool.input,
      annotations: tool.annotations,
    },
    async (args, extra): Promise<CallToolResult> => {
      const ctx: ToolContext = {
        api: () => node.get(),
        signal: extra.signal,
        keepAlive: (seconds) =>
          keepAlive(extra._meta?.progressToken, seconds, (params) =>
            extra.sendNotification({ method: 'notifications/progress', params }),
          ),
        afterAnswer: (hook) => answers.after(extra.requestId, extra.signal, hook),
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

/** An MCP server that knows when each tool call's answer has gone out (AnswerHooks). */
export class ToolServer extends McpServer {
  readonly answers = new AnswerHooks()

  override async connect(transport: Transport): Promise<void> {
    await super.connect(transport)
    this.answers.watch(transport)
  }
}

/**
 * A server with every tool, not yet connected to a transport. Its calls go through `node`: a long-lived
 * client making many calls keeps its connections to the node between them.
 */
export function createToolServer(node: KeptClient): ToolServer {
  const server = new ToolServer({ name: 'clawlink', version: VERSION }, { instructions: INSTRUCTIONS })
  for (const tool of TOOLS) register(server, tool, node, server.answers)
  return server
}
