// The `started` event and, for people, the banner: who this node is and how another agent joins it.
import type { ClawLinkNode, EventLog } from '../core/index.js'

export function announceStart(clawlink: ClawLinkNode, log: EventLog): void {
  const { options, meshKey } = clawlink
  const peerId = clawlink.peerId.toString()
  const addrs = clawlink.libp2p.getMultiaddrs().map((a) => a.toString())
  const keyArg =
    meshKey.source === 'open'
      ? '--open'
      : meshKey.source === 'home-key'
        ? ''
        : meshKey.source === 'key-file'
          ? ` --key-file ${meshKey.origin}`
          : meshKey.source === 'env-key'
            ? ' (with the same CLAWLINK_KEY)'
            : ' (with the same token)'
  const join =
    `clawlink node --name OTHER_NAME${keyArg === '--open' ? ' --open' : keyArg}` +
    (options.mdns ? '' : ` --peer ${addrs[0] ?? '<this node address>'}`)
  log.emit(
    'started',
    {
      name: options.name,
      peerId,
      dataDir: clawlink.paths.root,
      addrs,
      mesh: { fingerprint: meshKey.fingerprint, source: meshKey.source, origin: meshKey.origin },
      mdns: options.mdns ? options.mdnsTag : null,
      relayServer: options.relayServer,
      relays: options.relays,
      join,
    },
    `node ${options.name} started`,
  )
  const lines = [
    `ClawLink node "${options.name}" is up`,
    `  peer id    ${peerId}`,
    `  data dir   ${clawlink.paths.root}`,
    meshKey.source === 'open'
      ? '  mesh       OPEN: no mesh key, any host on the network may join'
      : `  mesh       ${meshKey.fingerprint} (key from ${meshKey.origin})`,
    `  discovery  ${options.mdns ? `mDNS (${options.mdnsTag})` : 'mDNS off'}${options.peers.length > 0 ? `, ${options.peers.length} bootstrap peer(s)` : ''}`,
    '  listening',
    ...addrs.map((a) => `    ${a}`),
    `Another agent joins with: ${join}`,
  ]
  if (options.relayServer) {
    const shareable = addrs.filter((a) => !a.includes('/p2p-circuit') && !/\/ip4\/127\.|\/ip6\/::1\//.test(a))
    lines.push(
      `Serving as a relay. Agents in other subnets add: --relay ${shareable[0] ?? addrs[0] ?? '<this node address>'}`,
    )
  }
  if (meshKey.source === 'home-key') {
    lines.push(`  (same user: nothing else needed; another machine: copy ${meshKey.origin} there first)`)
  }
  log.banner(lines.join('\n'))
}
