import { listPeers } from '../../client/requests.js'
import { type Command, flag, str } from '../command.js'
import { connect } from '../connect.js'
import { ago, printJson, shortId, table } from '../format.js'

export const discover: Command = {
  name: 'discover',
  summary: 'list the agents in the mesh',
  usage: 'discover [--cap CAP] [--all] [--json]',
  details:
    'Lists online peers, each followed by the agents it hosts (v1 agents, shown as NAME (on NODE); a\n' +
    'task goes to one with delegate --to NAME or its id); --all adds stale ones (no heartbeat for 2\n' +
    'minutes, longer in a large mesh, or a neighbour lost its link to them) and offline ones.\n' +
    '--json prints an array of {id, name, caps, description, machine, version, startedAt, load, addrs,\n' +
    'relayOnly, status, lastSeen, connected, kind}; kind is node or hosted, and a hosted agent also\n' +
    'has hostedBy {id, name} (its node, whose version, startedAt, load, addrs and connected it shows).',
  options: {
    cap: { type: 'string', value: 'CAP', description: 'only agents with this capability' },
    all: { type: 'boolean', description: 'include stale and offline agents' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    const peers = await listPeers(connect(ctx), { cap: str(ctx, 'cap'), all: flag(ctx, 'all') })
    if (flag(ctx, 'json')) {
      printJson(peers)
      return 0
    }
    if (peers.length === 0) {
      process.stdout.write(flag(ctx, 'all') ? 'no agents known yet\n' : 'no other agents online\n')
      return 0
    }
    const rows = peers.map((p) => [
      p.kind === 'hosted' && p.hostedBy != null ? `${p.name} (on ${p.hostedBy.name})` : p.name,
      shortId(p.id),
      p.caps.join(',') || '-',
      p.machine,
      p.status,
      ago(p.lastSeen),
    ])
    process.stdout.write(`${table(['NAME', 'ID', 'CAPS', 'MACHINE', 'STATUS', 'LAST SEEN'], rows)}\n`)
    return 0
  },
}
