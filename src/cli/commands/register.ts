import type { AgentCardJson, RegisterRequest } from '../../api/types.js'
import { splitList } from '../args.js'
import { type Command, flag, str } from '../command.js'
import { connect } from '../connect.js'
import { UsageError } from '../errors.js'
import { printJson } from '../format.js'
import { checkCardOptions } from '../node-args.js'

export const register: Command = {
  name: 'register',
  summary: "update this node's agent card and announce it now",
  usage: 'register [--name NAME] [--caps a,b,c] [--description TEXT] [--json]',
  details: 'Peers see the new card at once. --caps "" clears the caps. --json prints the card.',
  options: {
    name: { type: 'string', value: 'NAME', description: 'new agent name' },
    caps: {
      type: 'string',
      value: 'a,b,c',
      description: 'capabilities, comma-separated (replaces the old ones)',
    },
    description: { type: 'string', value: 'TEXT', description: 'what this agent does' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    const body: RegisterRequest = {}
    const name = str(ctx, 'name')
    const caps = ctx.options.caps
    const description = str(ctx, 'description')
    if (name != null) body.name = name
    if (caps != null) body.caps = splitList(caps)
    if (description != null) body.description = description
    if (Object.keys(body).length === 0) {
      throw new UsageError('give at least one of --name, --caps, --description', 'register')
    }
    checkCardOptions(body, 'register')
    const card = await connect(ctx).post<AgentCardJson>('/v1/register', body)
    if (flag(ctx, 'json')) printJson(card)
    else
      process.stdout.write(`registered ${card.name} caps=[${card.caps.join(',')}]; announced to the mesh\n`)
    return 0
  },
}
