import type { StatusJson } from '../../api/types.js'
import { type Command, flag } from '../command.js'
import { connect } from '../connect.js'
import { printJson, shortId, table } from '../format.js'

export const status: Command = {
  name: 'status',
  summary: "this node's card, mesh, addresses and connections",
  usage: 'status [--json]',
  details:
    '--json prints {card, dataDir, mesh: {fingerprint, open, source}, listen, addrs, mdns, peers: {online, stale,\n' +
    'offline, connected}, connections: [{peer, name, addr, direction, relayed, opened}], broadcastsPending,\n' +
    'store: {dbBytes, walBytes} (the database files on disk), pid, uptimeMs}.',
  options: { json: { type: 'boolean', description: 'print JSON' } },
  async run(ctx) {
    const s = await connect(ctx).get<StatusJson>('/v1/status')
    if (flag(ctx, 'json')) {
      printJson(s)
      return 0
    }
    printStatus(s)
    return 0
  },
}

/** The text form of a status (also printed by `clawlink up`). */
export function printStatus(s: StatusJson): void {
  const c = s.card
  const lines = [
    `${c.name}  ${c.id}`,
    `  caps         ${c.caps.join(',') || '-'}`,
    `  description  ${c.description || '-'}`,
    `  machine      ${c.machine}  (clawlink ${c.version}, pid ${s.pid}, up ${Math.round(s.uptimeMs / 1000)} s)`,
    `  mesh         ${s.mesh.open ? 'OPEN (no mesh key)' : s.mesh.fingerprint}`,
    `  data dir     ${s.dataDir}`,
    `  mdns         ${s.mdns.enabled ? `on (${s.mdns.serviceTag})` : 'off'}`,
    `  peers        ${s.peers.online} online, ${s.peers.stale} stale, ${s.peers.offline} offline; ${s.peers.connected} connected`,
    '  addresses',
    ...s.addrs.map((a) => `    ${a}`),
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
  if (s.connections.length > 0) {
    const rows = s.connections.map((x) => [
      x.name ?? '?',
      shortId(x.peer),
      x.direction,
      x.relayed ? 'relayed' : 'direct',
      x.addr,
    ])
    const t = table(['PEER', 'ID', 'DIRECTION', 'PATH', 'ADDRESS'], rows)
    process.stdout.write(`  connections\n${t.replace(/^/gm, '    ')}\n`)
  }
}
