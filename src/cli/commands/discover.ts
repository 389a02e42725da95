import { listPeers } from '../../client/requests.js'
import { type Command, flag, str } from '../command.js'
import { connect } from '../connect.js'
import { ago, printJson, shortId, table } from '../format.js'

export const discover: Command = {
  name: 'discover',
  summary: 'list the agents in the mesh',
  usage: 'discover [--cap CAP] [--all] [--json]',
  details:
    'Lists online peers; --all adds stale (no heartbeat for 2 minutes) and offline ones.\n' +
    '--json prints an array of {id, name, caps, description, machine, version, startedAt, load, addrs,\n' +
    'relayOnly, status, lastSeen, connected}.',
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
      p.name,
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
