import { ControlClient } from './client.js'
import { type CommandContext, str } from './command.js'
import { type NodeSelection, selectNode } from './select-node.js'

/** The control client of the node this command is for. */
export function connect(ctx: CommandContext): ControlClient {
  return connectTo({ dataDir: str(ctx, 'data-dir'), as: str(ctx, 'as') }, ctx.env)
}

/** The control client of the selected node (see selectNode); throws a CliError when none runs. */
export function connectTo(sel: NodeSelection, env: NodeJS.ProcessEnv): ControlClient {
  const info = selectNode(sel, env)
  return new ControlClient(info.socket, `${info.name} (${info.dataDir})`)
}
