// `GET /v1/watch`: a live NDJSON stream of this node's events. With `since`, the inbox events logged
// after that seq are replayed first, so a watcher that reconnects misses nothing the log still holds.

import type { EventType, WatchEventJson, WatchingJson, WatchType } from '../../api/types.js'
import { parseWatchTypes } from '../../api/watch-types.js'
import type { ClawLinkNode } from '../../core/node.js'
import { TooManyWatchersError } from '../../core/watch-hub.js'
import { ApiError, type ControlServer } from '../server.js'

/** Replayed events are read from the log in pages of this many. */
const REPLAY_PAGE = 500

const INBOX_TYPES: readonly string[] = ['task', 'task_update', 'task_reply', 'broadcast', 'file_updated']

function parseSince(raw: string | null): number | undefined {
  if (raw == null) return undefined
  const n = Number(raw)
  if (raw.trim() === '' || !Number.isSafeInteger(n) || n < 0)
    throw new ApiError(400, 'bad_request', 'since must be a non-negative integer (an event seq)')
  return n
}

export function registerWatchRoutes(server: ControlServer, node: ClawLinkNode): void {
  server.stream('GET', '/v1/watch', (req) => {
    const since = parseSince(req.query.get('since'))
    let types: WatchType[] = []
    const rawTypes = req.query.get('types')
    if (rawTypes != null) {
      if (rawTypes.length > 512) throw new ApiError(400, 'bad_request', 'types is too long')
      try {
        types = parseWatchTypes(rawTypes)
      } catch (err) {
        throw new ApiError(400, 'bad_request', (err as Error).message)
      }
    }
    const wanted = (e: WatchEventJson) => types.length === 0 || types.includes(e.type)
    // subscribe before reading the log, so nothing falls between the replay and the live stream
    const early: WatchEventJson[] = []
    let live: ((e: WatchEventJson) => void) | undefined
    let unsubscribe: () => void
    // without `since`, the stream starts here: what was logged before is not sent
    let startSeq = 0
    try {
      unsubscribe = node.watchHub.subscribe((e) => {
        if (!wanted(e)) return
        if (live != null) live(e)
        else if (early.length < REPLAY_PAGE * 4) early.push(e)
      })
      startSeq = node.inbox.lastSeq()
    } catch (err) {
      if (err instanceof TooManyWatchersError) throw new ApiError(429, 'too_many_watchers', err.message)
      throw err
    }

    return async (out) => {
      try {
        let last = startSeq
        if (since != null) {
          const inboxTypes = types.filter((t) => INBOX_TYPES.includes(t)) as EventType[]
          const replay = types.length === 0 || inboxTypes.length > 0
          last = since
          while (replay && !req.signal.aborted) {
            const page = node.inbox.since(last, REPLAY_PAGE, inboxTypes)
            for (const e of page) out.write(e)
            await out.drain()
            if (page.length > 0) last = page[page.length - 1]!.seq
            if (page.length < REPLAY_PAGE) break
          }
        }
        const hello: WatchingJson = {
          type: 'watching',
          node: { id: node.peerId.toString(), name: node.localCard().name },
          seq: last,
        }
        out.write(hello)
        const done = new Promise<void>((resolve) => {
          const send = (e: WatchEventJson) => {
            // an event the replay already sent, or one logged before this watch began
            if ('seq' in e && e.seq <= last) return
            if (!out.write(e)) {
              // the reader fell too far behind: end the stream; it resumes with ?since=<last seq it saw>
              out.end()
              resolve()
            }
          }
          for (const e of early.splice(0)) send(e)
          live = send
          if (req.signal.aborted) resolve()
          req.signal.addEventListener('abort', () => resolve(), { once: true })
        })
        await done
      } finally {
        unsubscribe()
      }
    }
  })
}
