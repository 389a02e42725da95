import { connectTo } from '../client/connect.js'
import type { ControlClient } from '../client/control-client.js'
import { type CommandContext, str } from './command.js'

/** The control client of the node this command is for. */
export function connect(ctx: CommandContext): ControlClient {
  return connectTo({ dataDir: str(ctx, 'data-dir'), as: str(ctx, 'as') }, ctx.env)
}
