// The control API's endpoints for the node itself and presence. Inputs are validated here; the
// CLI is only a client, so nothing it sends is trusted more than a peer's message.

import { statSync } from 'node:fs'
import type { PeerJson, RegisterRequest, StatusCounters, StatusJson } from '../../api/types.js'
import { cardJson, hostedJson, ownHostedJson, peerJson } from '../../core/cards.js'
import type { ClawLinkNode } from '../../core/node.js'
import { InvalidCardError } from '../../protocols/presence/index.js'
import { ApiError, type ControlServer } from '../server.js'
import { registerA2aRoutes } from './a2a.js'
import { registerFileRoutes } from './files.js'
import { registerKnowledgeRoutes } from './knowledge.js'
import { registerTaskRoutes } from './tasks.js'
import { registerWatchRoutes } from './watch.js'

function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new ApiError(400, 'bad_request', `${field} must be an array of strings`)
  }
  return value
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value == null) return undefined
  if (typeof value !== 'string') throw new ApiError(400, 'bad_request', `${field} must be a string`)
  return value
}

function parseRegister(body: unknown): RegisterRequest {
  if (body == null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError(400, 'bad_request', 'expected a JSON object')
  }
  const b = body as Record<string, unknown>
  for (const key of Object.keys(b)) {
    if (!['name', 'caps', 'description'].includes(key))
      throw new ApiError(400, 'bad_request', `unknown field ${key}`)
  }
  return {
    name: optionalString(b.name, 'name'),
    caps: b.caps == null ? undefined : stringList(b.caps, 'caps'),
    description: optionalString(b.description, 'description'),
  }
}

export function listPeers(node: ClawLinkNode, opts: { all?: boolean; cap?: string } = {}): PeerJson[] {
  return node.presence
    .peers()
    .filter((p) => !p.card.relayOnly)
    .filter((p) => opts.all === true || p.status === 'online')
    .filter((p) => opts.cap == null || p.card.caps.includes(opts.cap))
    .map((p) => peerJson(p, p.status, node.isConnected(p.id)))
    .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id))
}

/**
 * The agents this node hosts (kind `hosted`, hostedBy this node), then the peers as listPeers, each
 * followed by the agents it hosts, filtered alike.
 */
export function listAgents(node: ClawLinkNode, opts: { all?: boolean; cap?: string } = {}): PeerJson[] {
  const shown = (j: PeerJson) =>
    (opts.all === true || j.status === 'online') && (opts.cap == null || j.caps.includes(opts.cap))
  const self = cardJson(node.peerId.toString(), node.presence.localCard())
  const own = ownHostedJson(self, node.mailbox.hostedAgents(), node.options.staleAfter)
  own.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id))
  const out: PeerJson[] = own.filter(shown)
  const peers = node.presence.peers().filter((p) => !p.card.relayOnly)
  peers.sort((a, b) => a.card.name.localeCompare(b.card.name) || a.id.localeCompare(b.id))
  for (const p of peers) {
    const json: PeerJson = { ...peerJson(p, p.status, node.isConnected(p.id)), kind: 'node' }
    if (shown(json)) out.push(json)
    for (const h of hostedJson(json, p, node.presence.timings().staleAfter)) if (shown(h)) out.push(h)
  }
  return out
}

function counters(node: ClawLinkNode): StatusCounters {
  const c = node.libp2p.services.tasks.commits.stats
  const cpu = process.cpuUsage()
  return {
    commits: c.commits,
    commitWork: c.work,
    walSyncs: c.syncs,
    syncWaits: c.syncWaits,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
  }
}

/** A file's size, 0 when it is not there (no WAL between checkpoints on some systems). */
function fileSize(path: string): number {
  try {
    return statSync(path).size
  } catch {
    return 0
  }
}

export function status(node: ClawLinkNode): StatusJson {
  const libp2p = node.libp2p
  const peers = node.presence.peers()
  const names = new Map(peers.map((p) => [p.id, p.card.name]))
  const connections = libp2p.getConnections().map((c) => ({
    peer: c.remotePeer.toString(),
    name: names.get(c.remotePeer.toString()),
    addr: c.remoteAddr.toString(),
    direction: c.direction,
    relayed: c.remoteAddr.getComponents().some((x) => x.name === 'p2p-circuit'),
    onDemand: node.peers.degree.onDemand(c.remotePeer.toString()),
    opened: new Date(c.timeline.open).toISOString(),
  }))
  const count = (s: string) => peers.filter((p) => p.status === s && !p.card.relayOnly).length
  return {
    card: cardJson(node.peerId.toString(), node.presence.localCard()),
    dataDir: node.paths.root,
    mesh: {
      fingerprint: node.meshKey.fingerprint,
      open: node.meshKey.source === 'open',
      source: node.meshKey.source,
    },
    listen: node.options.listen,
    addrs: libp2p.getMultiaddrs().map((a) => a.toString()),
    mdns: node.options.mdns ? { enabled: true, serviceTag: node.options.mdnsTag } : { enabled: false },
    peers: {
      online: count('online'),
      stale: count('stale'),
      offline: count('offline'),
      connected: new Set(connections.map((c) => c.peer)).size,
      maxPeers: node.options.maxPeers,
    },
    connections,
    broadcastsPending: libp2p.services.knowledge.pendingPublish(),
    store: { dbBytes: fileSize(node.paths.store), walBytes: fileSize(`${node.paths.store}-wal`) },
    pid: process.pid,
    uptimeMs: Date.now() - node.startedAt,
    counters: counters(node),
  }
}

export function registerRoutes(server: ControlServer, node: ClawLinkNode): void {
  server.route('GET', '/v1/status', () => status(node))
  server.route('GET', '/v1/peers', (req) => {
    const cap = req.query.get('cap') ?? undefined
    return listAgents(node, { all: req.query.get('all') === '1', cap })
  })
  server.route('POST', '/v1/register', async (req) => {
    const update = parseRegister(req.body)
    try {
      await node.updateCard(update)
    } catch (err) {
      if (err instanceof InvalidCardError) throw new ApiError(400, 'invalid_card', err.message)
      throw err
    }
    return status(node).card
  })
  registerTaskRoutes(server, node)
  registerA2aRoutes(server, node)
  registerKnowledgeRoutes(server, node)
  registerFileRoutes(server, node)
  registerWatchRoutes(server, node)
  server.route('POST', '/v1/heartbeat', async () => {
    await node.presence.announce()
    return { ok: true, online: listPeers(node).length }
  })
}
