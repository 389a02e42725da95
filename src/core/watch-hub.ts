// Fan-out of what happens on this node to its watchers: `watch` streams, wake-ups and --on-event hooks.
// Inbox events arrive here after their transaction commits; peer events as presence reports them.
import type { WatchEventJson } from '../api/types.js'

export type WatchListener = (event: WatchEventJson) => void

/** More would only mean a runaway client; each watcher costs a socket and a buffer. */
export const MAX_WATCHERS = 64

export class TooManyWatchersError extends Error {
  static override readonly name = 'TooManyWatchersError'
  override name = 'TooManyWatchersError'
}

export class WatchHub {
  private readonly listeners = new Set<WatchListener>()

  /** Listeners added with `internal` (the node's own hooks) do not count against MAX_WATCHERS. */
  subscribe(fn: WatchListener, opts: { internal?: boolean } = {}): () => void {
    if (opts.internal !== true && this.clientCount() >= MAX_WATCHERS)
      throw new TooManyWatchersError(`at most ${MAX_WATCHERS} watchers at once`)
    const entry: WatchListener = Object.assign((e: WatchEventJson) => fn(e), { internal: opts.internal })
    this.listeners.add(entry)
    return () => this.listeners.delete(entry)
  }

  publish(event: WatchEventJson): void {
    for (const fn of this.listeners) {
      try {
        fn(event)
      } catch {
        // one broken watcher must not keep the event from the others
      }
    }
  }

  private clientCount(): number {
    let n = 0
    for (const fn of this.listeners) if ((fn as { internal?: boolean }).internal !== true) n++
    return n
  }
}
