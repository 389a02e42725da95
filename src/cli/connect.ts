import { ControlClient } from './client.js'
import { type CommandContext, str } from './command.js'
import { selectNode } from './select-node.js'

/** The control client of the node this command is for. */
export function connect(ctx: CommandContext): ControlClient {
  const info = selectNode({ dataDir: str(ctx, 'data-dir'), as: str(ctx, 'as') }, ctx.env)
  return new ControlClient(info.socket, `${info.name} (${info.dataDir})`)
}
