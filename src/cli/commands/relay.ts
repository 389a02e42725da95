import type { Command } from '../command.js'
import { node } from './node.js'

const {
  name: _name,
  caps: _caps,
  description: _description,
  'relay-server': _server,
  ...options
} = node.options

/** `clawlink relay`: a node that only relays for the mesh, with no agent card in discover. */
export const relay: Command = {
  name: 'relay',
  summary: 'run a relay for agents in other subnets (a node with no agent)',
  usage:
    'relay [--name NAME] [--data-dir DIR] [--listen MULTIADDR]... [--port N] [--peer MULTIADDR]...\n' +
    '              [--key-file FILE | --token-file FILE | --open] [--json]',
  details:
    'Serves circuit relay v2 for members of the mesh (same key) and prints the address agents pass to\n' +
    '--relay. It forwards encrypted bytes only and holds no agent data; several relays may serve one mesh.\n' +
    'Same options as node, without caps and description; --name defaults to relay.',
  options: { name: { type: 'string', value: 'NAME', description: 'node name (default relay)' }, ...options },
  run(ctx) {
    return node.run({
      ...ctx,
      relayOnly: true,
      options: { ...ctx.options, name: typeof ctx.options.name === 'string' ? ctx.options.name : 'relay' },
    })
  },
}
