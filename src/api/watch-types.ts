// Event types a watcher, a wake-up or an --on-event hook can ask for; shared by the CLI and the node.
import type { WatchType } from './types.js'

export const WATCH_TYPES: readonly WatchType[] = [
  'task',
  'task_update',
  'task_reply',
  'task_sent',
  'broadcast',
  'file_updated',
  'peer_online',
  'peer_stale',
  'peer_offline',
]

/** The OpenClaw gateway's wake webhook on its default port (`--wake-url` alone means this). */
export const OPENCLAW_WAKE_URL = 'http://127.0.0.1:18789/hooks/wake'

/** Parses a comma list of event types; throws an Error whose message names the bad one. */
export function parseWatchTypes(raw: string): WatchType[] {
  const types = raw
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')
  for (const t of types) {
    if (!(WATCH_TYPES as readonly string[]).includes(t))
      throw new Error(
        `unknown event type ${JSON.stringify(t.slice(0, 40))}; known: ${WATCH_TYPES.join(', ')}`,
      )
  }
  if (types.length === 0) throw new Error('give at least one event type')
  return types as WatchType[]
}
