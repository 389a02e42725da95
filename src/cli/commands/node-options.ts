// The options of `clawlink node` (and of `relay`, `up` and `service install`, which take the node's
// options): the table the parser and the help text read. Checks that span options live in node.ts.

import { OPENCLAW_WAKE_URL, WATCH_TYPES } from '../../api/watch-types.js'
import type { OptionSpecs } from '../args.js'

/** What a bare `--relay` parses to: no multiaddr is empty. */
export const HUB = ''

export const NODE_OPTIONS: OptionSpecs = {
  name: { type: 'string', value: 'NAME', description: 'agent name (letters, digits, . _ -)' },
  caps: { type: 'string', value: 'a,b,c', multiple: true, description: 'capabilities, comma-separated' },
  description: { type: 'string', value: 'TEXT', description: 'what this agent does' },
  listen: {
    type: 'string',
    value: 'MULTIADDR',
    multiple: true,
    description: 'listen address (default /ip4/0.0.0.0/tcp/PORT)',
  },
  port: {
    type: 'number',
    value: 'N',
    min: 0,
    max: 65535,
    description: 'TCP port to listen on (default: any free)',
  },
  peer: {
    type: 'string',
    value: 'MULTIADDR',
    multiple: true,
    description: 'bootstrap peer to dial and keep dialling',
  },
  'no-mdns': { type: 'boolean', description: 'do not discover peers on the LAN with mDNS' },
  'relay-server': {
    type: 'boolean',
    description: 'the same as a bare --relay: serve as a relay hub',
  },
  relay: {
    type: 'string',
    value: '[MULTIADDR]',
    multiple: true,
    // alone (`--relay`, `--relay --name x`): this node is a hub; with an address: reach the mesh through it
    implicit: HUB,
    implicitMatch: /^\//,
    description:
      'alone: serve as a relay hub for agents in other subnets; with an address (and /p2p/ID): reserve a slot on that hub',
  },
  'max-peers': {
    type: 'number',
    value: 'N',
    min: 2,
    max: 1000,
    description: 'mesh connections kept (default 10); other members are reached on demand',
  },
  'idle-grace': {
    type: 'string',
    value: 'DURATION',
    description: 'close an on-demand connection unused for this long (default 30s)',
  },
  allow: {
    type: 'string',
    value: 'PEERID,...',
    multiple: true,
    description: 'only these peers may connect (repeatable)',
  },
  'allow-file': {
    type: 'string',
    value: 'FILE',
    description: 'only the PeerIds in FILE (one per line, # comments) may connect',
  },
  'mdns-tag': {
    type: 'string',
    value: 'TAG',
    description: 'mDNS service tag (or CLAWLINK_MDNS_TAG; default _clawlink._udp.local)',
  },
  'key-file': { type: 'string', value: 'FILE', description: 'mesh key file (see clawlink keygen)' },
  token: {
    type: 'string',
    value: 'SECRET',
    description: 'mesh passphrase, turned into the key with scrypt (better: CLAWLINK_TOKEN or --token-file)',
  },
  'token-file': {
    type: 'string',
    value: 'FILE',
    description: 'read the mesh passphrase from FILE (one line), not from the visible command line',
  },
  open: { type: 'boolean', description: 'run without a mesh key: anyone on the network may join' },
  'reset-store': {
    type: 'boolean',
    description:
      'if the store is missing, empty or damaged, move it aside and start a fresh one (forgets tasks, files and knowledge; keeps the identity)',
  },
  heartbeat: {
    type: 'string',
    value: 'DURATION',
    description: 'presence heartbeat interval (default 30s)',
  },
  'stale-after': {
    type: 'string',
    value: 'DURATION',
    description: 'a peer without heartbeat is stale after (default 120s)',
  },
  'offline-after': {
    type: 'string',
    value: 'DURATION',
    description: 'a stale peer is offline after a further (default 10m)',
  },
  'max-task-size': {
    type: 'number',
    value: 'BYTES',
    min: 1024,
    max: 256 * 1024 * 1024,
    description: 'largest task text + context, and result (default 1 MiB)',
  },
  'task-rate': {
    type: 'number',
    value: 'N',
    min: 1,
    max: 1_000_000,
    description: 'task messages accepted per peer per second, bursts of 5x (default 200, bursts of 1000)',
  },
  'max-inbox': {
    type: 'number',
    value: 'N',
    min: 1,
    max: 1_000_000,
    description: 'open tasks accepted per sender (default 1000)',
  },
  'knowledge-max': {
    type: 'number',
    value: 'N',
    min: 1,
    max: 10_000_000,
    description: 'broadcasts kept (default 10000)',
  },
  'knowledge-days': {
    type: 'number',
    value: 'DAYS',
    min: 0.001,
    max: 3650,
    description: 'longest a broadcast is kept (default 7)',
  },
  'broadcast-rate': {
    type: 'number',
    value: 'N',
    min: 0.01,
    max: 100_000,
    description: 'live broadcasts accepted per author per second (default 20, burst 5x)',
  },
  'max-file-size': {
    type: 'number',
    value: 'BYTES',
    min: 1,
    // sizes and offsets travel as exact numbers (jstype = JS_NUMBER): no 2 GiB cap any more
    max: Number.MAX_SAFE_INTEGER,
    description: 'largest shared file (default 1 GiB)',
  },
  'eager-fetch-size': {
    type: 'number',
    value: 'BYTES',
    min: 0,
    max: 2 ** 50,
    description: 'files up to this are replicated at once (default 16 MiB)',
  },
  'file-history': {
    type: 'number',
    value: 'N',
    min: 1,
    max: 10_000,
    description: 'versions kept per key (default 20)',
  },
  'wake-url': {
    type: 'string',
    value: 'URL',
    implicit: OPENCLAW_WAKE_URL,
    implicitMatch: /^[a-z][a-z0-9+.-]*:/i,
    description: `POST {"text","mode":"now"} here when work arrives (alone: the OpenClaw gateway, ${OPENCLAW_WAKE_URL})`,
  },
  'wake-agent': {
    type: 'string',
    value: 'ID',
    description: 'the gateway agent to wake, sent as agentId (OpenClaw: several agents, one gateway)',
  },
  'wake-session': { type: 'string', value: 'KEY', description: 'the session to wake, sent as sessionKey' },
  'wake-text': {
    type: 'string',
    value: 'notice|full',
    description: "notice (default): no peer's words in the wake text; full: excerpts of the task or message",
  },
  'wake-token': {
    type: 'string',
    value: 'TOKEN',
    description: 'bearer token for --wake-url (better: CLAWLINK_WAKE_TOKEN or --wake-token-file)',
  },
  'wake-token-file': {
    type: 'string',
    value: 'FILE',
    description: 'read the --wake-url bearer token from FILE (one line)',
  },
  'on-event': {
    type: 'string',
    value: 'CMD',
    description: 'run this shell command for each event, the event as JSON on stdin',
  },
  'wake-on': {
    type: 'string',
    value: 'TYPES',
    description: `events that wake (comma list of ${WATCH_TYPES.join(', ')}; default task,task_update,task_reply)`,
  },
  json: { type: 'boolean', description: 'log JSON lines on stdout instead of text' },
  'v1-api': {
    type: 'string',
    value: '[HOST:]PORT',
    implicit: '9077',
    implicitMatch: /^(\[[0-9a-fA-F:.]+\]:|[A-Za-z0-9.-]+:)?\d+$/,
    description: 'serve the ClawLink v1 HTTP API (alone: 127.0.0.1:9077); see docs/v1-compat.md',
  },
  'v1-token': {
    type: 'string',
    value: 'TOKEN',
    description: 'bearer token the v1 API requires (better: CLAWLINK_V1_TOKEN or --v1-token-file)',
  },
  'v1-token-file': {
    type: 'string',
    value: 'FILE',
    description: 'read the v1 API token from FILE (one line); a token is needed off loopback',
  },
  a2a: {
    type: 'string',
    value: '[HOST:]PORT',
    description: 'serve the A2A bridge (host default 127.0.0.1); see docs/a2a.md',
  },
  'a2a-token': {
    type: 'string',
    value: 'TOKEN',
    description: 'bearer token the A2A bridge requires (better: CLAWLINK_A2A_TOKEN)',
  },
  'a2a-token-file': {
    type: 'string',
    value: 'FILE',
    description: 'read the A2A bridge token from FILE (one line)',
  },
}
