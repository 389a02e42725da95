// --wake-url: POSTs {"text", "mode": "now"} to a webhook (the OpenClaw gateway's /hooks/wake) when work
// arrives. One request at a time; events that arrive meanwhile are coalesced into the next one. Failures
// are retried a few times and logged; delivery never waits for them (the event is already in the inbox).
import type { WatchEventJson, WatchType } from '../../api/types.js'
import type { EventLog } from '../event-log.js'
import { type AgentRef, wakeText } from './wake-text.js'

export interface WakeNotifierInit {
  url: string
  token?: string
  types: WatchType[]
  agent: AgentRef
  log: EventLog
  /** delays before each retry, ms */
  retryDelays?: number[]
  /** per request, ms */
  timeout?: number
}

/** Events held for the next wake-up; a burst beyond this is summarised by count only. */
const MAX_PENDING = 100
const RETRY_DELAYS = [500, 2_000, 5_000]
const REQUEST_TIMEOUT = 5_000

export class WakeNotifier {
  private pending: WatchEventJson[] = []
  private dropped = 0
  private running?: Promise<void>
  private readonly stopping = new AbortController()
  private readonly retryDelays: number[]
  private readonly timeout: number
  sent = 0
  failed = 0

  constructor(private readonly init: WakeNotifierInit) {
    this.retryDelays = init.retryDelays ?? RETRY_DELAYS
    this.timeout = init.timeout ?? REQUEST_TIMEOUT
  }

  notify(event: WatchEventJson): void {
    if (!this.init.types.includes(event.type) || this.stopping.signal.aborted) return
    if (this.pending.length < MAX_PENDING) this.pending.push(event)
    else this.dropped++
    this.start()
  }

  private start(): void {
    this.running ??= this.drain().finally(() => {
      this.running = undefined
      // an event that came after the drain's last look, but before this ran, would wait for the next one
      if (this.pending.length > 0 && !this.stopping.signal.aborted) this.start()
    })
  }

  /** Lets a request in flight finish (bounded by its timeout); no new retries start. */
  async stop(): Promise<void> {
    this.stopping.abort()
    await this.running
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0 && !this.stopping.signal.aborted) {
      const batch = this.pending.splice(0)
      const extra = this.dropped
      this.dropped = 0
      const text = wakeText(batch, this.init.agent) + (extra > 0 ? ` (+${extra} more)` : '')
      await this.send(text, batch.length + extra)
    }
  }

  private async send(text: string, count: number): Promise<void> {
    const { url, token, log } = this.init
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (token != null) headers.authorization = `Bearer ${token}`
    const body = JSON.stringify({ text, mode: 'now' })
    let reason = ''
    for (let attempt = 0; attempt <= this.retryDelays.length; attempt++) {
      if (attempt > 0) {
        const waited = await sleep(this.retryDelays[attempt - 1]!, this.stopping.signal)
        if (!waited) break
      }
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(this.timeout),
        })
        await res.arrayBuffer().catch(() => {})
        if (res.ok) {
          this.sent++
          log.emit(
            'wake_sent',
            { url, events: count, attempt: attempt + 1 },
            `woke the agent (${count} event(s))`,
          )
          return
        }
        reason = `HTTP ${res.status}`
        // a refused token or a wrong path will not fix itself by retrying
        if (res.status === 401 || res.status === 403 || res.status === 404) break
      } catch (err) {
        reason = (err as Error).name === 'TimeoutError' ? 'timed out' : describeFetchError(err as Error)
      }
    }
    this.failed++
    log.emit(
      'wake_failed',
      { url, events: count, reason },
      `could not wake the agent at ${url}: ${reason}; the event(s) wait in its inbox`,
      'warn',
    )
  }
}

function describeFetchError(err: Error): string {
  const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause
  return cause?.code ?? cause?.message ?? err.message
}

/** Resolves true after `ms`, or false at once if `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false)
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      resolve(false)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
