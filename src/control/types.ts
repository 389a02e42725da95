// JSON shapes of the local control API, shared by the node and the CLI (no libp2p here).
// These are also the `--json` output shapes, documented in docs/cli.md: change them only additively.

export type PeerStatus = 'online' | 'stale' | 'offline'

export interface AgentCardJson {
  id: string
  name: string
  caps: string[]
  description: string
  machine: string
  version: string
  /** ISO 8601 */
  startedAt: string
  load: number
  addrs: string[]
  relayOnly: boolean
}

export interface PeerJson extends AgentCardJson {
  status: PeerStatus
  /** ISO 8601: when this node last heard from the peer (card, heartbeat or leave) */
  lastSeen: string
  /** true while this node holds a connection to the peer */
  connected: boolean
}

export interface ConnectionJson {
  peer: string
  name?: string
  addr: string
  direction: 'inbound' | 'outbound'
  /** true when the connection goes through a circuit relay */
  relayed: boolean
  /** ISO 8601 */
  opened: string
}

export interface StatusJson {
  card: AgentCardJson
  dataDir: string
  mesh: { fingerprint: string; open: boolean; source: string }
  listen: string[]
  addrs: string[]
  mdns: { enabled: boolean; serviceTag?: string }
  peers: { online: number; stale: number; offline: number; connected: number }
  connections: ConnectionJson[]
  pid: number
  uptimeMs: number
}

export interface RegisterRequest {
  name?: string
  caps?: string[]
  description?: string
}

export interface ApiErrorJson {
  error: { code: string; message: string }
}

/** What a running node writes in its data dir (control.json) and in $CLAWLINK_HOME/run/. */
export interface ControlInfo {
  pid: number
  name: string
  peerId: string
  dataDir: string
  socket: string
  version: string
  startedAt: string
}
