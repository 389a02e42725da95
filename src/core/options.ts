// Options of one node, their defaults, and how they resolve against the user's ClawLink home.
import { hostname } from 'node:os'
import type { WatchType } from '../api/types.js'
import { ConfigError } from '../home/errors.js'
import { clawlinkHome, defaultDataDir, defaultMeshKeyPath } from '../home/paths.js'
import { EAGER_FETCH_SIZE, HISTORY_LIMIT, MAX_FILE_SIZE } from '../protocols/files/constants.js'
import { MAX_AGE, MAX_ITEMS, RATE } from '../protocols/knowledge/constants.js'
import { HEARTBEAT_INTERVAL, OFFLINE_AFTER, STALE_AFTER } from '../protocols/presence/constants.js'
import { MAX_PENDING_PER_SENDER, MAX_TASK_SIZE, PEER_MESSAGE_RATE } from '../protocols/tasks/constants.js'
import { type HostPort, isLoopbackHost as isLoopback } from '../rules/listen.js'
import { DEFAULT_MAX_PEERS } from './degree.js'
import { WAKE_TEXT_MODES, type WakeTextMode } from './notify/wake-text.js'

/** mDNS service tag shared by ClawLink nodes; private, so plain libp2p nodes on the LAN are not dialled. */
export const DEFAULT_MDNS_TAG = '_clawlink._udp.local'
export const DEFAULT_MDNS_INTERVAL = 10_000
export const DEFAULT_PORT = 0
/** How long an unused on-demand connection stays open (a task answered soon after reuses it). */
export const DEFAULT_IDLE_GRACE = 30_000

/** Wake the agent for work: a new task, or news of one it delegated. */
export const DEFAULT_WAKE_ON: WatchType[] = ['task', 'task_update', 'task_reply']

function nonEmpty(value: string | undefined): string | undefined {
  return value == null || value === '' ? undefined : value
}

/** A wake URL must be http(s) with a host; anything else is a configuration error, said at start. */
export function checkWakeUrl(raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(`--wake-url ${JSON.stringify(raw.slice(0, 200))} is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(`--wake-url must be http:// or https://, not ${url.protocol}`)
  if (url.username !== '' || url.password !== '')
    throw new ConfigError('--wake-url must not carry credentials; give --wake-token or CLAWLINK_WAKE_TOKEN')
  return url.toString()
}

/** `--wake-agent` / `--wake-session` go into the gateway's routing: short, printable, one line. */
export const MAX_WAKE_ID_LENGTH = 256

export function checkWakeId(raw: string, option: string): string {
  if (raw === '' || raw.length > MAX_WAKE_ID_LENGTH)
    throw new ConfigError(`--${option} must be 1-${MAX_WAKE_ID_LENGTH} characters`)
  // C0 (tab and newline too), DEL, C1 and the Unicode line/paragraph separators
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(raw))
    throw new ConfigError(`--${option} must not contain control characters`)
  return raw
}

function checkWakeTextMode(raw: string): WakeTextMode {
  if (!(WAKE_TEXT_MODES as readonly string[]).includes(raw))
    throw new ConfigError(
      `--wake-text must be ${WAKE_TEXT_MODES.join(' or ')}, not ${JSON.stringify(raw.slice(0, 40))}`,
    )
  return raw as WakeTextMode
}

export interface NodeOptions {
  name: string
  caps: string[]
  description: string
  home: string
  dataDir: string
  listen: string[]
  peers: string[]
  mdns: boolean
  /** serve circuit relay v2 for the mesh; relayOnly: offer no agent (not listed by discover) */
  relayServer: boolean
  relayOnly: boolean
  /** relays to reserve a slot on */
  relays: string[]
  /** mesh connections kept (ring neighbours; hubs, relays and --peer targets come on top) */
  maxPeers: number
  /** an on-demand connection is closed once unused this long (ms) */
  idleGrace: number
  /** only these PeerIds may connect (empty: any mesh member) */
  allow: string[]
  mdnsTag: string
  mdnsInterval: number
  keyFile?: string
  token?: string
  open: boolean
  homeKeyPath: string
  heartbeatInterval: number
  /** after throttling a peer's broadcasts, fetch them through history sync this much later (ms) */
  catchUpDelay?: number
  staleAfter: number
  offlineAfter: number
  machine: string
  /** bytes of task text plus context (and of a result) */
  maxTaskSize: number
  /** open incoming tasks per sender */
  maxInbox: number
  /** task messages accepted per peer per second (bursts of 5x) */
  taskRate: number
  /** broadcasts kept: at most this many, none older than knowledgeMaxAge ms */
  knowledgeMax: number
  knowledgeMaxAge: number
  /** live broadcasts accepted per author per second (burst 5x) */
  broadcastRate: number
  /** largest shared file; files up to eagerFetchSize are replicated at once; versions kept per key */
  maxFileSize: number
  eagerFetchSize: number
  fileHistory: number
  /** POST a wake-up here when an event of `wakeOn` arrives (the OpenClaw gateway's /hooks/wake) */
  wakeUrl?: string
  wakeToken?: string
  /** sent as `agentId` / `sessionKey`: which agent and session of the gateway wakes */
  wakeAgent?: string
  wakeSession?: string
  /** `notice`: the wake text holds no peer-written words; `full`: it carries excerpts of them */
  wakeText: WakeTextMode
  /** run this shell command with the event as JSON on stdin */
  onEvent?: string
  wakeOn: WatchType[]
  env: NodeJS.ProcessEnv
  /** Print JSON lines instead of human log lines. */
  json: boolean
  /** serve the ClawLink v1 HTTP API here; v1Token: bearer token it requires (CLAWLINK_V1_TOKEN) */
  v1Api?: HostPort
  v1Token?: string
  /** where v1Token came from: --v1-token, CLAWLINK_V1_TOKEN, or v1's own CLAWLINK_TOKEN */
  v1TokenFrom?: string
  /** serve the A2A bridge here (src/a2a); a2aToken: bearer token it requires (CLAWLINK_A2A_TOKEN) */
  a2a?: HostPort
  a2aToken?: string
  a2aTokenFrom?: string
  /** A store that is missing, empty or damaged is moved aside and a fresh one started (--reset-store). */
  resetStore?: boolean
}

export interface NodeOptionsInput {
  name: string
  caps?: string[]
  description?: string
  dataDir?: string
  listen?: string[]
  port?: number
  peers?: string[]
  mdns?: boolean
  relayServer?: boolean
  relayOnly?: boolean
  relays?: string[]
  maxPeers?: number
  idleGrace?: number
  allow?: string[]
  mdnsTag?: string
  mdnsInterval?: number
  keyFile?: string
  token?: string
  open?: boolean
  heartbeatInterval?: number
  catchUpDelay?: number
  staleAfter?: number
  offlineAfter?: number
  maxTaskSize?: number
  maxInbox?: number
  taskRate?: number
  knowledgeMax?: number
  knowledgeMaxAge?: number
  broadcastRate?: number
  maxFileSize?: number
  eagerFetchSize?: number
  fileHistory?: number
  wakeUrl?: string
  wakeToken?: string
  wakeAgent?: string
  wakeSession?: string
  wakeText?: string
  onEvent?: string
  wakeOn?: WatchType[]
  json?: boolean
  env?: NodeJS.ProcessEnv
  v1Api?: HostPort
  v1Token?: string
  a2a?: HostPort
  a2aToken?: string
  resetStore?: boolean
}

export function resolveNodeOptions(input: NodeOptionsInput): NodeOptions {
  const env = input.env ?? process.env
  const home = clawlinkHome(env)
  // an empty list (not an absent one) means no direct listener: a node reachable only through relays
  const listen = input.listen ?? [`/ip4/0.0.0.0/tcp/${input.port ?? DEFAULT_PORT}`]
  const envTag = env.CLAWLINK_MDNS_TAG
  return {
    name: input.name,
    caps: input.caps ?? [],
    description: input.description ?? '',
    home,
    dataDir: input.dataDir ?? defaultDataDir(home, input.name),
    listen,
    peers: input.peers ?? [],
    mdns: input.mdns ?? true,
    relayServer: input.relayServer ?? input.relayOnly ?? false,
    relayOnly: input.relayOnly ?? false,
    relays: input.relays ?? [],
    maxPeers: input.maxPeers ?? DEFAULT_MAX_PEERS,
    idleGrace: input.idleGrace ?? DEFAULT_IDLE_GRACE,
    allow: input.allow ?? [],
    mdnsTag: input.mdnsTag ?? (envTag != null && envTag !== '' ? envTag : DEFAULT_MDNS_TAG),
    mdnsInterval: input.mdnsInterval ?? DEFAULT_MDNS_INTERVAL,
    keyFile: input.keyFile,
    token: input.token,
    open: input.open ?? false,
    homeKeyPath: defaultMeshKeyPath(home),
    heartbeatInterval: input.heartbeatInterval ?? HEARTBEAT_INTERVAL,
    catchUpDelay: input.catchUpDelay,
    staleAfter: input.staleAfter ?? STALE_AFTER,
    offlineAfter: input.offlineAfter ?? OFFLINE_AFTER,
    machine: hostname(),
    maxTaskSize: input.maxTaskSize ?? MAX_TASK_SIZE,
    maxInbox: input.maxInbox ?? MAX_PENDING_PER_SENDER,
    taskRate: input.taskRate ?? PEER_MESSAGE_RATE,
    knowledgeMax: input.knowledgeMax ?? MAX_ITEMS,
    knowledgeMaxAge: input.knowledgeMaxAge ?? MAX_AGE,
    broadcastRate: input.broadcastRate ?? RATE,
    maxFileSize: input.maxFileSize ?? MAX_FILE_SIZE,
    eagerFetchSize: input.eagerFetchSize ?? EAGER_FETCH_SIZE,
    fileHistory: input.fileHistory ?? HISTORY_LIMIT,
    ...wakeOptions(input, env),
    onEvent: input.onEvent,
    wakeOn: input.wakeOn ?? DEFAULT_WAKE_ON,
    env,
    json: input.json ?? false,
    resetStore: input.resetStore ?? false,
    ...v1Options(input, env),
    ...a2aOptions(input, env),
  }
}

type WakeOptions = Pick<NodeOptions, 'wakeUrl' | 'wakeToken' | 'wakeAgent' | 'wakeSession' | 'wakeText'>

/** Where and how to wake the agent; the wake-up's details mean nothing without --wake-url. */
function wakeOptions(input: NodeOptionsInput, env: NodeJS.ProcessEnv): WakeOptions {
  if (input.wakeUrl == null) {
    const given = (['wakeAgent', 'wakeSession', 'wakeText'] as const).find((k) => input[k] != null)
    if (given != null) {
      const option = `--${given.replace(/[A-Z]/, (c) => `-${c.toLowerCase()}`)}`
      throw new ConfigError(`${option} needs --wake-url`)
    }
  }
  return {
    wakeUrl: input.wakeUrl != null ? checkWakeUrl(input.wakeUrl) : undefined,
    wakeToken: input.wakeToken ?? nonEmpty(env.CLAWLINK_WAKE_TOKEN),
    wakeAgent: input.wakeAgent != null ? checkWakeId(input.wakeAgent, 'wake-agent') : undefined,
    wakeSession: input.wakeSession != null ? checkWakeId(input.wakeSession, 'wake-session') : undefined,
    wakeText: input.wakeText != null ? checkWakeTextMode(input.wakeText) : 'notice',
  }
}

/** The v1 API must not be reachable from other hosts without a token. */
function v1Options(
  input: NodeOptionsInput,
  env: NodeJS.ProcessEnv,
): Pick<NodeOptions, 'v1Api' | 'v1Token' | 'v1TokenFrom'> {
  if (input.v1Api == null) return {}
  // a v1 relay took its bearer token from CLAWLINK_TOKEN, which v1 clients also send: honour it last
  const [v1Token, v1TokenFrom] =
    nonEmpty(input.v1Token) != null
      ? [nonEmpty(input.v1Token), '--v1-token']
      : nonEmpty(env.CLAWLINK_V1_TOKEN) != null
        ? [nonEmpty(env.CLAWLINK_V1_TOKEN), 'CLAWLINK_V1_TOKEN']
        : nonEmpty(env.CLAWLINK_TOKEN) != null
          ? [nonEmpty(env.CLAWLINK_TOKEN), 'CLAWLINK_TOKEN']
          : [undefined, undefined]
  if (!isLoopback(input.v1Api.host) && v1Token == null)
    throw new ConfigError(
      `--v1-api on ${input.v1Api.host} is reachable from other hosts: give --v1-token or CLAWLINK_V1_TOKEN`,
    )
  return { v1Api: input.v1Api, v1Token, v1TokenFrom }
}

/** The A2A bridge, like the v1 API, must not be reachable from other hosts without a token. */
function a2aOptions(
  input: NodeOptionsInput,
  env: NodeJS.ProcessEnv,
): Pick<NodeOptions, 'a2a' | 'a2aToken' | 'a2aTokenFrom'> {
  if (input.a2a == null) return {}
  const [a2aToken, a2aTokenFrom] =
    nonEmpty(input.a2aToken) != null
      ? [nonEmpty(input.a2aToken), '--a2a-token']
      : nonEmpty(env.CLAWLINK_A2A_TOKEN) != null
        ? [nonEmpty(env.CLAWLINK_A2A_TOKEN), 'CLAWLINK_A2A_TOKEN']
        : [undefined, undefined]
  if (!isLoopback(input.a2a.host) && a2aToken == null)
    throw new ConfigError(
      `--a2a on ${input.a2a.host} is reachable from other hosts: give --a2a-token or CLAWLINK_A2A_TOKEN`,
    )
  return { a2a: input.a2a, a2aToken, a2aTokenFrom }
}
