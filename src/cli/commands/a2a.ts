// `clawlink a2a add|list|remove`: external A2A agents this agent's node bridges into the mesh.
import { addA2aAgent, listA2aAgents, removeA2aAgent } from '../../client/requests.js'
import { type Command, flag, str } from '../command.js'
import { connect } from '../connect.js'
import { UsageError } from '../errors.js'
import { printJson, table } from '../format.js'

export const a2a: Command = {
  name: 'a2a',
  summary: 'make external A2A agents members of the mesh, hosted by this node',
  usage: 'a2a add NAME URL [--token-env VAR] [--json] | a2a list [--json] | a2a remove NAME [--json]',
  subcommands: ['add', 'list', 'remove'],
  args: 2,
  details:
    'add reads the agent card at URL (the agent base URL, or the card URL itself) and registers the agent\n' +
    'as NAME: every node then lists it in discover (kind hosted, hosted by this node, its skills as caps),\n' +
    'and delegate --to NAME or --cap SKILL reaches it through this node, durably. --token-env VAR: the\n' +
    "bearer token is read from this node's environment variable VAR at each request, never stored.\n" +
    '--json: add prints {name, url, tokenEnv, agentName, description, caps, streaming, addedAt}; list an\n' +
    'array of them; remove {removed: NAME}.',
  options: {
    'token-env': { type: 'string', value: 'VAR', description: "the node's env var holding the bearer token" },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    const [sub, name, url] = ctx.positionals
    const json = flag(ctx, 'json')
    if (sub === 'list') {
      if (name != null) throw new UsageError(`unexpected argument ${JSON.stringify(name)}`, 'a2a')
      const agents = await listA2aAgents(connect(ctx))
      if (json) printJson(agents)
      else if (agents.length === 0) process.stdout.write('no A2A agents\n')
      else
        process.stdout.write(
          `${table(
            ['NAME', 'URL', 'CAPS', 'STREAMING', 'TOKEN'],
            agents.map((a) => [
              a.name,
              a.url,
              a.caps.join(','),
              a.streaming ? 'yes' : 'no',
              a.tokenEnv ?? '-',
            ]),
          )}\n`,
        )
      return 0
    }
    if (name == null) throw new UsageError(`a2a ${sub} needs NAME`, 'a2a')
    if (sub === 'remove') {
      if (url != null) throw new UsageError(`unexpected argument ${JSON.stringify(url)}`, 'a2a')
      const r = await removeA2aAgent(connect(ctx), name)
      if (json) printJson(r)
      else process.stdout.write(`removed A2A agent ${name}\n`)
      return 0
    }
    if (url == null) throw new UsageError('a2a add needs NAME and URL', 'a2a')
    const agent = await addA2aAgent(connect(ctx), { name, url, tokenEnv: str(ctx, 'token-env') })
    if (json) printJson(agent)
    else
      process.stdout.write(
        `A2A agent ${agent.name} (${agent.agentName}) added; caps: ${agent.caps.join(', ') || '(none)'}\n`,
      )
    return 0
  },
}
