// `clawlink watch`: events as they happen, for agents that would rather be told than poll.
import type { PeerEventJson, WatchEventJson, WatchingJson } from '../../api/types.js'
import { parseWatchTypes, WATCH_TYPES } from '../../api/watch-types.js'
import { ClientError } from '../../client/errors.js'
import { readLineStream } from '../../client/line-stream.js'
import { type Command, flag, num, str } from '../command.js'
import { connect } from '../connect.js'
import { CliError, UsageError } from '../errors.js'
import { shortId } from '../format.js'
import { printEvents } from '../task-format.js'

/** After the node goes away mid-watch, how long to wait for it to come back. */
const RECONNECT_FOR = 60_000
const RECONNECT_EVERY = 500

function printPeer(e: PeerEventJson): void {
  const what =
    e.type === 'peer_online'
      ? e.reason === 'back'
        ? 'is back'
        : 'joined'
      : e.type === 'peer_stale'
        ? 'is stale (no heartbeat)'
        : e.reason === 'left'
          ? 'left'
          : 'timed out'
  const where =
    e.type === 'peer_online' ? ` on ${e.peer.machine || 'unknown host'}, caps=[${e.peer.caps.join(',')}]` : ''
  process.stdout.write(`[${e.type}] ${e.peer.name} (${shortId(e.peer.id)}) ${what}${where}\n`)
}

export const watch: Command = {
  name: 'watch',
  summary: 'stream events as they happen: tasks, results, broadcasts, file updates, peers',
  usage: 'watch [--type LIST] [--since SEQ] [--count N] [--timeout SECONDS] [--json]',
  details:
    'Prints each event the moment the node has it, until Ctrl-C, --count events or --timeout. Watching does\n' +
    'not mark events seen: `poll` still hands each one out once. If the node restarts, watch reconnects\n' +
    '(for up to 60 s) and resumes after the last event it printed, so none is missed.\n' +
    '--since SEQ first replays logged events after SEQ (an event seq from poll or an earlier watch).\n' +
    `--type limits it to some of: ${WATCH_TYPES.join(', ')}.\n` +
    '--json prints one object per line: first {"type":"watching","node":{id,name},"seq"} (the stream is live;\n' +
    "seq is the newest logged event), then events: poll's event objects (type task | task_update | broadcast |\n" +
    'file_updated, with seq), and {"type":"peer_online" | "peer_stale" | "peer_offline", "peer": <discover\'s\n' +
    'peer object>, "reason": "joined" | "back" | "silent" | "left" | "timed_out" | "unreachable", "timestamp"}; task_sent (this agent\n' +
    "delegated a task, through any client): poll's task fields without seq, never replayed.",
  options: {
    type: { type: 'string', value: 'LIST', description: 'only these event types (comma-separated)' },
    since: {
      type: 'number',
      value: 'SEQ',
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
      description: 'replay events after SEQ first',
    },
    count: { type: 'number', value: 'N', min: 1, max: 1_000_000, description: 'exit after N events' },
    timeout: {
      type: 'number',
      value: 'SECONDS',
      min: 0,
      max: 86_400 * 30,
      description: 'exit after SECONDS',
    },
    json: { type: 'boolean', description: 'print one JSON object per line' },
  },
  async run(ctx) {
    const json = flag(ctx, 'json')
    let types: string[] = []
    const rawTypes = str(ctx, 'type')
    if (rawTypes != null) {
      try {
        types = parseWatchTypes(rawTypes)
      } catch (err) {
        throw new UsageError(`--type: ${(err as Error).message}`, 'watch')
      }
    }
    const count = num(ctx, 'count')
    const timeout = num(ctx, 'timeout')
    const stop = new AbortController()
    const onSignal = () => stop.abort()
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    const timer = timeout != null ? setTimeout(() => stop.abort(), timeout * 1000) : undefined
    let since = num(ctx, 'since')
    let seen = 0
    let connected = false

    const onValue = (value: unknown) => {
      if (stop.signal.aborted) return
      const v = value as WatchEventJson | WatchingJson
      if (v.type === 'watching') {
        // resume from here after a reconnect, whatever the stream sends before its first event
        since = Math.max(since ?? 0, v.seq)
        if (json) process.stdout.write(`${JSON.stringify(v)}\n`)
        else if (!connected) process.stderr.write(`watching ${v.node.name} (Ctrl-C to stop)\n`)
        connected = true
        return
      }
      if ('seq' in v) since = Math.max(since ?? 0, v.seq)
      if (json) process.stdout.write(`${JSON.stringify(v)}\n`)
      else if ('peer' in v) printPeer(v)
      else if (v.type === 'task_sent')
        process.stdout.write(
          `[task_sent] ${v.id} to ${v.to.name} (${shortId(v.to.id)}), priority ${v.priority}\n`,
        )
      else printEvents([v])
      seen++
      if (count != null && seen >= count) stop.abort()
    }

    try {
      let lostAt: number | undefined
      while (!stop.signal.aborted) {
        const query = new URLSearchParams()
        if (types.length > 0) query.set('types', types.join(','))
        if (since != null) query.set('since', String(since))
        const path = `/v1/watch${query.size > 0 ? `?${query}` : ''}`
        try {
          const client = connect(ctx)
          await readLineStream({
            socket: client.socket,
            path,
            label: client.label,
            onValue,
            signal: stop.signal,
          })
          lostAt = undefined
        } catch (err) {
          // at the start, a node that is not there is an error; later, it may be restarting
          if (!connected || !(err instanceof ClientError)) throw err
          lostAt ??= Date.now()
          if (Date.now() - lostAt > RECONNECT_FOR)
            throw new CliError(
              `${err.message}; gave up waiting ${RECONNECT_FOR / 1000} s for it to come back`,
            )
        }
        if (stop.signal.aborted) break
        if (lostAt == null) {
          lostAt = Date.now()
          process.stderr.write('the node closed the stream; reconnecting\n')
        }
        await new Promise((r) => setTimeout(r, RECONNECT_EVERY))
      }
    } finally {
      clearTimeout(timer)
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
    return 0
  },
}
