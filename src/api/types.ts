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
  /** present (true) only on a hub: a node that serves circuit relay for the mesh (`node --relay`, `relay`) */
  hub?: true
}

export interface PeerJson extends AgentCardJson {
  status: PeerStatus
  /** ISO 8601: when this node last heard from the peer (card, heartbeat or leave) */
  lastSeen: string
  /** true while this node holds a connection to the peer */
  connected: boolean
  /** `node` for a peer; `hosted` for an agent a peer hosts (a v1 agent), listed by discover */
  kind?: 'node' | 'hosted'
  /** kind `hosted`: the node hosting it (a task to the agent goes there); version, startedAt, load,
   * addrs, relayOnly and connected are that node's; lastSeen is the agent's last heartbeat */
  hostedBy?: PeerRef
}

export interface ConnectionJson {
  peer: string
  name?: string
  addr: string
  direction: 'inbound' | 'outbound'
  /** true when the connection goes through a circuit relay */
  relayed: boolean
  /** true when it is not one this node keeps (a task, fetch or sync opened it, or the peer dialled us): closed once idle */
  onDemand: boolean
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
  /** connected: peers with a connection now; maxPeers: the connections kept (--max-peers), on-demand ones aside */
  peers: { online: number; stale: number; offline: number; connected: number; maxPeers: number }
  connections: ConnectionJson[]
  /** this node's own broadcasts stored and still waiting to go out on gossip (paced to the mesh rate) */
  broadcastsPending: number
  /** the database's size on disk in bytes: store.db and its write-ahead log (file contents aside) */
  store: { dbBytes: number; walBytes: number }
  pid: number
  uptimeMs: number
  /** counters since the node started, for benchmarks and diagnosis (see docs/cli.md, status) */
  counters: StatusCounters
}

export interface StatusCounters {
  /** group commits of the task store, the pieces of work they held, and the WAL syncs */
  commits: number
  commitWork: number
  walSyncs: number
  /** WAL syncs the pieces of work waited for, summed (1 each when no sync was running as it came) */
  syncWaits: number
  /** the node process's CPU time (process.cpuUsage) */
  cpuUserUs: number
  cpuSystemUs: number
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

// ---- tasks ----

export type TaskState =
  | 'submitted'
  | 'delivered'
  | 'working'
  /** the assignee asked the delegator a question (in `result`); a reply makes it `working` again */
  | 'input-required'
  | 'completed'
  | 'failed'
  | 'canceled'
  | 'rejected'
  | 'expired'
export type Priority = 'low' | 'normal' | 'high' | 'urgent'

export interface PeerRef {
  id: string
  name: string
}

/** One state of a task's history and when this node recorded it (ISO time). */
export interface TaskStateJson {
  state: TaskState
  at: string
}

export interface TaskJson {
  id: string
  /** `sent`: this agent delegated it; `received`: this agent was asked */
  direction: 'sent' | 'received'
  from: PeerRef
  to: PeerRef
  task: string
  /** the parsed JSON context, or null */
  context: unknown
  priority: Priority
  state: TaskState
  result: string | null
  /** why it was rejected, failed, canceled or expired, when known */
  reason: string | null
  createdAt: string
  updatedAt: string
  expiresAt: string
  /** sent to an agent a node hosts (a v1 agent; its node is `to`): that agent's id */
  toAgent?: string
  /** GET /v1/tasks?id= only: every state the task has been in on this node, oldest first */
  history?: TaskStateJson[]
}

export interface DelegateRequest {
  /** the task id, chosen by the caller (8-64 of A-Z a-z 0-9 - _): sending the same id again returns that task */
  id?: string
  /** name, PeerId or unique PeerId prefix; or give `cap` */
  to?: string
  cap?: string
  task: string
  /** JSON text */
  context?: string
  priority?: Priority
  /** ms */
  ttl?: number
  /** ms to wait for a final state; 0 or absent: return at once */
  wait?: number
}

/** POST /v1/tasks/batch: many delegations in one request (and one group commit), without `wait`. */
export interface DelegateBatchRequest {
  tasks: Array<Omit<DelegateRequest, 'wait'>>
}

/** One outcome per task, in the request's order: the task, or why that one was refused. */
export interface DelegateBatchJson {
  results: Array<{ task: TaskJson } | { error: { code: string; message: string } }>
}

export interface RespondRequest {
  id: string
  result: string
  status?: 'working' | 'input-required' | 'completed' | 'failed' | 'rejected' | 'in_progress'
  /** v1 habit: the delegator's name or id, checked against the task */
  to?: string
}

/** The delegator's message on a task it sent: the answer to an `input-required` question. */
export interface ReplyRequest {
  id: string
  message: string
  /** the assignee's name or id, when the id is not unique */
  to?: string
}

export interface CancelRequest {
  id: string
  reason?: string
}

export type EventType = 'task' | 'task_update' | 'task_reply' | 'broadcast' | 'file_updated'

/**
 * One thing that happened for this agent, as `poll` returns it. Task events carry the task fields;
 * broadcast events carry `topic`, `tags` and `content`.
 */
export interface EventJson {
  /** position in this node's event log */
  seq: number
  type: EventType
  /** the task id, or the broadcast id */
  id: string
  /** the other party: the other agent of a task, or a broadcast's author */
  from: PeerRef
  /** this agent */
  to: PeerRef
  task?: string
  context?: unknown
  priority: Priority
  state?: TaskState
  result?: string | null
  reason?: string | null
  /** task_reply: the delegator's message on a task this agent received */
  message?: string
  topic?: string
  tags?: string[]
  content?: string
  /** broadcast: the agent hosted on the author's node (a v1 agent) that sent it, as the author signed it */
  fromHostedAgent?: string
  /** file_updated: the key, and its new winning version */
  key?: string
  version?: number
  size?: number
  deleted?: boolean
  conflict?: boolean
  timestamp: string
}

/** What `watch` streams besides inbox events: a peer came online, went quiet, or went away. */
export type PeerEventType = 'peer_online' | 'peer_stale' | 'peer_offline'

export interface PeerEventJson {
  type: PeerEventType
  peer: PeerJson
  /**
   * peer_online: `joined` (first seen) or `back`; peer_stale: `silent` (no heartbeat in time) or
   * `unreachable` (a neighbour's link to it broke and a dial back failed); peer_offline: `left`,
   * `timed_out` or `unreachable`
   */
  reason?: 'joined' | 'back' | 'silent' | 'left' | 'timed_out' | 'unreachable'
  timestamp: string
}

/** The first line of a watch stream: the subscription is live; `seq` is the last event already in the log. */
export interface WatchingJson {
  type: 'watching'
  node: PeerRef
  seq: number
}

/**
 * `watch` only (never in the log, so no `seq`, and not replayed): this node's agent delegated a task,
 * through any client. `from` is this agent, `to` the assignee; `state` is the new task's.
 */
export interface TaskSentEventJson extends Omit<EventJson, 'seq' | 'type'> {
  type: 'task_sent'
  /** the hosted (v1) agent of the assignee's node it is for */
  toAgent?: string
}

export type WatchEventJson = EventJson | PeerEventJson | TaskSentEventJson
export type WatchType = EventType | PeerEventType | 'task_sent'

// ---- knowledge ----

export interface BroadcastRequest {
  content: string
  topic?: string
  tags?: string[]
}

export interface BroadcastJson {
  id: string
  author: PeerRef
  topic: string
  tags: string[]
  content: string
  /** the hosted (v1) agent of the author's node that sent it, as the author signed it */
  fromHostedAgent?: string
  /** when the author sent it (its clock), ISO 8601 */
  time: string
  /** when this node got it, ISO 8601 */
  receivedAt: string
}

// ---- files ----

export interface FileJson {
  key: string
  version: number
  author: PeerRef
  /** ISO 8601, the author's clock */
  time: string
  size: number
  sha256: string
  mediaType: string
  deleted: boolean
  /** another retained version was written without seeing this one: someone should merge */
  conflict: boolean
  /** versions retained in history */
  versions: number
}

export interface FileVersionJson {
  key: string
  version: number
  /** the highest version its author had seen */
  base: number
  author: PeerRef
  time: string
  size: number
  sha256: string
  mediaType: string
  deleted: boolean
  /** the version the map resolves to */
  winner: boolean
  /** written concurrently with the winner (a losing write, kept) */
  conflict: boolean
  /** whether this node holds the content */
  local: boolean
}

export interface FilePutRequest {
  key: string
  /** absolute path of a file this node can read */
  path: string
  base?: number
  type?: string
  /** share it even if it is one of the node's keys or under its data dir or CLAWLINK_HOME */
  force?: boolean
}

export interface FileGetResponse {
  file: FileVersionJson
  /** where this node keeps the verified content (read it, do not change it) */
  path: string
}
