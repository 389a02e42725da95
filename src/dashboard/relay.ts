// The node's watch stream, relayed to every open page: one `GET /v1/watch` per watched node, whatever
// the number of pages; when the node stops or restarts, the relay finds it again (by its selection) and
// resumes from the last event seq it saw, so a restart loses nothing the node's log still holds.
import { readLineStream } from '../client/line-stream.js'
import { type NodeSelection, selectNode } from '../client/select-node.js'

export type RelayMessage =
  | { kind: 'event'; event: Record<string, unknown> }
  | { kind: 'node'; state: 'up' | 'down'; name?: string; message?: string }

type Listener = (m: RelayMessage) => void

/** Waits between attempts to find the node again after it went away (ms). */
const RETRY_MS = [100, 250, 500, 1000]

export class WatchRelay {
  private readonly listeners = new Set<Listener>()
  private abort?: AbortController
  private lastSeq?: number
  private up = false
  private name?: string
  private stopped = false

  constructor(
    private readonly sel: NodeSelection,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Adds a page; the first one starts the stream. Returns the unsubscribe function. */
  subscribe(fn: Listener): () => void {
    this.listeners.add(fn)
    fn(this.up ? { kind: 'node', state: 'up', name: this.name } : { kind: 'node', state: 'down' })
    if (this.abort == null) void this.run()
    return () => {
      this.listeners.delete(fn)
      if (this.listeners.size === 0) this.close()
    }
  }

  get watchers(): number {
    return this.listeners.size
  }

  close(): void {
    this.abort?.abort()
    this.abort = undefined
  }

  stop(): void {
    this.stopped = true
    this.close()
  }

  private send(m: RelayMessage): void {
    for (const fn of this.listeners) fn(m)
  }

  private setState(up: boolean, message?: string): void {
    if (this.up === up) return
    this.up = up
    this.send({ kind: 'node', state: up ? 'up' : 'down', name: this.name, message })
  }

  private async run(): Promise<void> {
    const abort = new AbortController()
    this.abort = abort
    let attempt = 0
    while (!abort.signal.aborted && !this.stopped) {
      let message: string | undefined
      try {
        const info = selectNode(this.sel, this.env)
        const since = this.lastSeq != null ? `?since=${this.lastSeq}` : ''
        await readLineStream({
          socket: info.socket,
          path: `/v1/watch${since}`,
          label: info.name,
          signal: abort.signal,
          onValue: (value) => {
            const e = value as Record<string, unknown>
            if (e.type === 'watching') {
              this.name = (e.node as { name?: string } | undefined)?.name
              if (typeof e.seq === 'number') this.lastSeq = e.seq
              attempt = 0
              this.setState(true)
              return
            }
            if (typeof e.seq === 'number') this.lastSeq = e.seq
            this.send({ kind: 'event', event: e })
          },
        })
      } catch (err) {
        message = (err as Error).message
      }
      if (abort.signal.aborted) break
      this.setState(false, message ?? 'the node ended the stream')
      const wait = RETRY_MS[Math.min(attempt++, RETRY_MS.length - 1)]!
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait)
        const onAbort = () => {
          clearTimeout(timer)
          resolve()
        }
        abort.signal.addEventListener('abort', onAbort, { once: true })
      })
    }
    if (this.abort === abort) this.abort = undefined
  }
}
