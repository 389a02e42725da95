// `clawlink node`: parses and checks its options, then runs the daemon, which it loads on demand (the
// daemon loads libp2p; other commands must stay fast).

import type { WatchType } from '../../api/types.js'
import { parseWatchTypes } from '../../api/watch-types.js'
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
import { HUB, NODE_OPTIONS } from './node-options.js'

export const node: Command = {
  name: 'node',
  summary: "run this agent's node in the foreground",
  usage:
    'node --name NAME [--caps a,b,c] [--description TEXT] [--data-dir DIR] [--listen MULTIADDR]... [--port N]\n' +
    '              [--peer MULTIADDR]... [--no-mdns] [--relay [MULTIADDR]]... [--max-peers N]\n' +
    '              [--key-file FILE | --token-file FILE | --open]\n' +
    '              [--wake-url [URL]] [--wake-token-file FILE] [--wake-agent ID] [--wake-session KEY]\n' +
    '              [--wake-text notice|full] [--on-event CMD] [--wake-on TYPES] [--reset-store] [--json]',
  details:
    'Runs until SIGINT/SIGTERM, then tells its peers it is leaving. The data dir (default\n' +
    '$CLAWLINK_HOME/agents/NAME, CLAWLINK_HOME defaulting to ~/.clawlink) holds the identity, the store and\n' +
    'the control socket. Mesh key, first found wins: --key-file, CLAWLINK_KEY, --token / CLAWLINK_TOKEN,\n' +
    '$CLAWLINK_HOME/mesh.key (created on first use). --json prints one JSON object per line: a `started`\n' +
    'event, then peer and delivery events.',
  options: NODE_OPTIONS,
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
    const relayArgs = list(ctx, 'relay')
    const hub = flag(ctx, 'relay-server') || relayArgs.includes(HUB)
    const relays = relayArgs.filter((a) => a !== HUB)
    if (listen.length > 0 && num(ctx, 'port') != null)
      throw new UsageError('give --listen or --port, not both', 'node')
    const caps = splitList(ctx.options.caps)
    checkCardOptions({ name, caps, description: str(ctx, 'description') }, ctx.command ?? 'node')
    // secrets in argv are readable by any local user: warn once the log exists
    const secretWarnings: SecretWarning[] = []
    const token = secretOption(ctx, 'token', 'CLAWLINK_TOKEN', secretWarnings)
    const v1Token = secretOption(ctx, 'v1-token', 'CLAWLINK_V1_TOKEN', secretWarnings)
    const a2aToken = secretOption(ctx, 'a2a-token', 'CLAWLINK_A2A_TOKEN', secretWarnings)
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
    usage(() => daemon.checkMultiaddrs([...listen, ...list(ctx, 'peer'), ...relays]))
    for (const addr of listen) checkTransport(addr, 'listen', ctx.command ?? 'node')
    for (const addr of list(ctx, 'peer')) checkTransport(addr, 'peer', ctx.command ?? 'node')
    for (const addr of relays) checkTransport(addr, 'relay', ctx.command ?? 'node')
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
    for (const addr of relays) {
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
    const a2aRaw = str(ctx, 'a2a')
    const a2a = a2aRaw != null ? usage(() => daemon.parseA2aListen(a2aRaw)) : undefined
    if (a2aToken != null && a2a == null) throw new UsageError('--a2a-token needs --a2a', ctx.command)
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
        relayServer: hub || ctx.relayOnly === true,
        relayOnly: ctx.relayOnly === true,
        relays,
        maxPeers: num(ctx, 'max-peers'),
        idleGrace: duration('idle-grace'),
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
        a2a,
        a2aToken,
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
