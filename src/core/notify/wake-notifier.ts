// --wake-url: POSTs {"text", "mode": "now", "agentId"?, "sessionKey"?} to a webhook (the OpenClaw gateway's
// /hooks/wake) when work arrives. One request at a time; events that arrive meanwhile are coalesced into
// the next one. Failures are retried a few times (a 429/503 no sooner than its Retry-After) and logged;
// delivery never waits for them (the event is already in the inbox).
import type { WatchEventJson, WatchType } from '../../api/types.js'
import type { EventLog } from '../event-log.js'
import { type AgentRef, type WakeTextMode, wakeText } from './wake-text.js'

export interface WakeNotifierInit {
  url: string
  token?: string
  types: WatchType[]
  agent: AgentRef
  /** which agent and session of the gateway to wake (OpenClaw's `agentId`, `sessionKey`) */
  agentId?: string
  sessionKey?: string
  /** `notice` (default): no peer-written text in the wake-up; `full`: excerpts of it */
  textMode?: WakeTextMode
  log: EventLog
  /** delays before each retry, ms */
  retryDelays?: number[]
  /** per request, ms */
  timeout?: number
  /** the clock and the wait between attempts; tests inject them */
  clock?: Clock
}

export interface Clock {
  now(): number
  /** resolves true after `ms`, or false at once if `signal` aborts */
  sleep(ms: number, signal: AbortSignal): Promise<boolean>
}

/** The longest a Retry-After is honoured: a gateway asking for more gets retried after this. */
export const MAX_RETRY_AFTER = 10 * 60_000

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
  private readonly clock: Clock
  sent = 0
  failed = 0

  constructor(private readonly init: WakeNotifierInit) {
    this.retryDelays = init.retryDelays ?? RETRY_DELAYS
    this.timeout = init.timeout ?? REQUEST_TIMEOUT
    this.clock = init.clock ?? { now: Date.now, sleep }
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
      const text =
        wakeText(batch, this.init.agent, this.init.textMode) + (extra > 0 ? ` (+${extra} more)` : '')
      await this.send(text, batch.length + extra)
    }
  }

  private async send(text: string, count: number): Promise<void> {
    const { url, token, log } = this.init
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (token != null) headers.authorization = `Bearer ${token}`
    const body = JSON.stringify({
      text,
      mode: 'now',
      ...(this.init.agentId != null ? { agentId: this.init.agentId } : {}),
      ...(this.init.sessionKey != null ? { sessionKey: this.init.sessionKey } : {}),
    })
    let reason = ''
    let retryAfter = 0
    for (let attempt = 0; attempt <= this.retryDelays.length; attempt++) {
      if (attempt > 0) {
        const delay = Math.max(this.retryDelays[attempt - 1]!, retryAfter)
        const waited = await this.clock.sleep(delay, this.stopping.signal)
        if (!waited) break
      }
      retryAfter = 0
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
        if (res.status === 429 || res.status === 503) {
          retryAfter = parseRetryAfter(res.headers.get('retry-after'), this.clock.now())
        }
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

/** A Retry-After header (delay-seconds or an HTTP-date) in ms from `now`, capped; 0 if absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number {
  if (value == null) return 0
  const raw = value.trim()
  let ms: number
  if (/^\d+$/.test(raw)) ms = Number(raw) * 1000
  else {
    const at = Date.parse(raw)
    if (Number.isNaN(at)) return 0
    ms = at - now
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER)
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
