// `clawlink node`: parses and checks its options, then runs the daemon, which it loads on demand (the
// daemon loads libp2p; other commands must stay fast).

import type { WatchType } from '../../api/types.js'
import { OPENCLAW_WAKE_URL, parseWatchTypes, WATCH_TYPES } from '../../api/watch-types.js'
import { readBounded } from '../../home/bounded-read.js'
import { ConfigError } from '../../home/errors.js'
import { parseDuration, splitList } from '../args.js'
import { type Command, flag, list, num, str } from '../command.js'
import { CliError, UsageError } from '../errors.js'
import {
  checkCardOptions,
  checkMeshKeyOptions,
  checkTransport,
  type SecretWarning,
  secretOption,
} from '../node-args.js'

export const node: Command = {
  name: 'node',
  summary: "run this agent's node in the foreground",
  usage:
    'node --name NAME [--caps a,b,c] [--description TEXT] [--data-dir DIR] [--listen MULTIADDR]... [--port N]\n' +
    '              [--peer MULTIADDR]... [--no-mdns] [--key-file FILE | --token-file FILE | --open]\n' +
    '              [--wake-url [URL]] [--wake-token-file FILE] [--wake-agent ID] [--wake-session KEY]\n' +
    '              [--wake-text notice|full] [--on-event CMD] [--wake-on TYPES] [--reset-store] [--json]',
  details:
    'Runs until SIGINT/SIGTERM, then tells its peers it is leaving. The data dir (default\n' +
    '$CLAWLINK_HOME/agents/NAME, CLAWLINK_HOME defaulting to ~/.clawlink) holds the identity, the store and\n' +
    'the control socket. Mesh key, first found wins: --key-file, CLAWLINK_KEY, --token / CLAWLINK_TOKEN,\n' +
    '$CLAWLINK_HOME/mesh.key (created on first use). --json prints one JSON object per line: a `started`\n' +
    'event, then peer and delivery events.',
  options: {
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
      description: 'also serve circuit relay v2 for the mesh (for agents in other subnets)',
    },
    relay: {
      type: 'string',
      value: 'MULTIADDR',
      multiple: true,
      description: 'reserve a slot on this relay (its address with /p2p/ID)',
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
      description:
        'mesh passphrase, turned into the key with scrypt (better: CLAWLINK_TOKEN or --token-file)',
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
      description:
        "notice (default): no peer's words in the wake text; full: excerpts of the task or message",
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
      description: `events that wake (comma list of ${WATCH_TYPES.join(', ')}; default task,task_update)`,
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
  },
  async run(ctx) {
    const name = str(ctx, 'name') ?? ctx.env.CLAWLINK_AGENT
    if (name == null || name === '') throw new UsageError('--name is required', 'node')
    const duration = (flagName: string) => {
      const raw = str(ctx, flagName)
      return raw == null ? undefined : parseDuration(raw, `--${flagName}`)
    }
    const heartbeatInterval = duration('heartbeat')
    const staleAfter = duration('stale-after')
    const offlineAfter = duration('offline-after')
    const listen = list(ctx, 'listen')
    if (listen.length > 0 && num(ctx, 'port') != null)
      throw new UsageError('give --listen or --port, not both', 'node')
    const caps = splitList(ctx.options.caps)
    checkCardOptions({ name, caps, description: str(ctx, 'description') }, ctx.command ?? 'node')
    // secrets in argv are readable by any local user: warn once the log exists
    const secretWarnings: SecretWarning[] = []
    const token = secretOption(ctx, 'token', 'CLAWLINK_TOKEN', secretWarnings)
    const v1Token = secretOption(ctx, 'v1-token', 'CLAWLINK_V1_TOKEN', secretWarnings)
    const wakeToken = secretOption(ctx, 'wake-token', 'CLAWLINK_WAKE_TOKEN', secretWarnings)
    checkMeshKeyOptions(ctx, token)

    // Loaded here and only here: libp2p takes a while to import and other commands must stay fast.
    const daemon = await import('../../daemon/index.js')
    // the daemon's checks throw ConfigError: a usage error here
    const usage = <T>(fn: () => T): T => {
      try {
        return fn()
      } catch (err) {
        if (err instanceof ConfigError) throw new UsageError(err.message, ctx.command)
        throw err
      }
    }
    usage(() => daemon.checkMultiaddrs([...listen, ...list(ctx, 'peer'), ...list(ctx, 'relay')]))
    for (const addr of listen) checkTransport(addr, 'listen', ctx.command ?? 'node')
    for (const addr of list(ctx, 'peer')) checkTransport(addr, 'peer', ctx.command ?? 'node')
    for (const addr of list(ctx, 'relay')) checkTransport(addr, 'relay', ctx.command ?? 'node')
    const allow = splitList(ctx.options.allow) ?? []
    const allowFile = str(ctx, 'allow-file')
    if (allowFile != null) {
      // a PeerId is about 52 characters: 1 MiB is some 20,000 of them, and /dev/zero is refused
      const text = readBounded(
        allowFile,
        1 << 20,
        `--allow-file ${allowFile}`,
        (m) => new CliError(m),
      ).toString('utf8')
      allow.push(
        ...text
          .split('\n')
          .map((l) => l.replace(/#.*/, '').trim())
          .filter((l) => l !== ''),
      )
    }
    usage(() => daemon.checkPeerIds(allow))
    for (const addr of list(ctx, 'relay')) {
      if (!addr.includes('/p2p/')) {
        throw new UsageError(
          `--relay ${addr} needs the relay's PeerId (.../p2p/ID), as the relay prints it`,
          ctx.command,
        )
      }
    }
    const wakeUrl = str(ctx, 'wake-url')
    if (wakeUrl != null) usage(() => daemon.checkWakeUrl(wakeUrl))
    const v1Raw = str(ctx, 'v1-api')
    const v1Api = v1Raw != null ? usage(() => daemon.parseV1Listen(v1Raw)) : undefined
    if (v1Token != null && v1Api == null) throw new UsageError('--v1-token needs --v1-api', ctx.command)
    const options = usage(() =>
      daemon.resolveNodeOptions({
        name,
        caps,
        description: str(ctx, 'description'),
        dataDir: str(ctx, 'data-dir'),
        listen: listen.length > 0 ? listen : undefined,
        port: num(ctx, 'port'),
        peers: list(ctx, 'peer'),
        mdns: !flag(ctx, 'no-mdns'),
        relayServer: flag(ctx, 'relay-server') || ctx.relayOnly === true,
        relayOnly: ctx.relayOnly === true,
        relays: list(ctx, 'relay'),
        allow,
        mdnsTag: str(ctx, 'mdns-tag'),
        keyFile: str(ctx, 'key-file'),
        token,
        open: flag(ctx, 'open'),
        heartbeatInterval,
        staleAfter,
        offlineAfter,
        maxTaskSize: num(ctx, 'max-task-size'),
        maxInbox: num(ctx, 'max-inbox'),
        taskRate: num(ctx, 'task-rate'),
        knowledgeMax: num(ctx, 'knowledge-max'),
        knowledgeMaxAge:
          num(ctx, 'knowledge-days') != null ? num(ctx, 'knowledge-days')! * 86_400_000 : undefined,
        broadcastRate: num(ctx, 'broadcast-rate'),
        maxFileSize: num(ctx, 'max-file-size'),
        eagerFetchSize: num(ctx, 'eager-fetch-size'),
        fileHistory: num(ctx, 'file-history'),
        wakeUrl,
        wakeToken,
        wakeAgent: str(ctx, 'wake-agent'),
        wakeSession: str(ctx, 'wake-session'),
        wakeText: str(ctx, 'wake-text'),
        onEvent: nonBlank(str(ctx, 'on-event'), '--on-event'),
        wakeOn: wakeOn(str(ctx, 'wake-on')),
        json: flag(ctx, 'json'),
        env: ctx.env,
        v1Api,
        v1Token,
        resetStore: flag(ctx, 'reset-store'),
      }),
    )
    const log = new daemon.EventLog(options.json, process.stdout, process.stderr, true)
    for (const w of secretWarnings)
      log.emit('secret_in_arguments', { option: w.option }, `WARNING: ${w.text}`, 'warn')
    try {
      return await daemon.runDaemon(options, log)
    } catch (err) {
      if (err instanceof daemon.DaemonError) throw new CliError(err.message)
      throw err
    }
  },
}

function nonBlank(value: string | undefined, option: string): string | undefined {
  if (value != null && value.trim() === '') throw new UsageError(`${option} needs a command`, 'node')
  return value
}

function wakeOn(raw: string | undefined): WatchType[] | undefined {
  if (raw == null) return undefined
  try {
    return parseWatchTypes(raw)
  } catch (err) {
    throw new UsageError(`--wake-on: ${(err as Error).message}`, 'node')
  }
}
