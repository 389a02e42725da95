// --on-event CMD: runs a shell command for each event, the event as one JSON line on stdin. Runs one at a
// time, in order; a queue bound and a time limit keep a stuck or slow command from growing the node.
import { spawn } from 'node:child_process'
import type { WatchEventJson, WatchType } from '../../api/types.js'
import type { EventLog } from '../event-log.js'

export interface EventHookInit {
  command: string
  types: WatchType[]
  log: EventLog
  /** ms before a run is killed */
  timeout?: number
  /** events waiting for their run; more are dropped (they stay in the inbox) and logged */
  maxQueue?: number
}

const RUN_TIMEOUT = 60_000
const MAX_QUEUE = 1_000
/** Of a failed run's stderr, the log keeps this tail. */
const STDERR_TAIL = 500

export class EventHook {
  private readonly queue: WatchEventJson[] = []
  private running?: Promise<void>
  private stopped = false
  private current?: ReturnType<typeof spawn>
  runs = 0
  failures = 0
  dropped = 0

  constructor(private readonly init: EventHookInit) {}

  notify(event: WatchEventJson): void {
    if (!this.init.types.includes(event.type) || this.stopped) return
    if (this.queue.length >= (this.init.maxQueue ?? MAX_QUEUE)) {
      this.dropped++
      if (this.dropped === 1 || this.dropped % 100 === 0) {
        this.init.log.emit(
          'on_event_dropped',
          { dropped: this.dropped },
          `--on-event command is too slow: ${this.dropped} event(s) not passed to it (they are in the inbox)`,
          'warn',
        )
      }
      return
    }
    this.queue.push(event)
    this.start()
  }

  private start(): void {
    this.running ??= this.drain().finally(() => {
      this.running = undefined
      // an event that came after the drain's last look, but before this ran, would wait for the next one
      if (this.queue.length > 0 && !this.stopped) this.start()
    })
  }

  /** Drops what is queued and lets the current run finish, killing it if it outlives a short grace. */
  async stop(): Promise<void> {
    this.stopped = true
    this.queue.length = 0
    const grace = setTimeout(() => killGroup(this.current), 2_000)
    await this.running
    clearTimeout(grace)
  }

  private async drain(): Promise<void> {
    for (let e = this.queue.shift(); e != null && !this.stopped; e = this.queue.shift()) {
      await this.run(e)
    }
  }

  private run(event: WatchEventJson): Promise<void> {
    const { command, log } = this.init
    const id = 'id' in event ? event.id : event.peer.id
    return new Promise((resolve) => {
      let stderr = ''
      const child = spawn(command, {
        shell: true,
        // its own process group, so a kill reaches what the shell started too (see killGroup)
        detached: true,
        stdio: ['pipe', 'ignore', 'pipe'],
        env: { ...process.env, CLAWLINK_EVENT: event.type, CLAWLINK_EVENT_ID: id },
      })
      this.current = child
      const timer = setTimeout(() => killGroup(child), this.init.timeout ?? RUN_TIMEOUT)
      child.stderr?.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-STDERR_TAIL)
      })
      // a command that does not read its stdin must not fail the run with EPIPE
      child.stdin?.on('error', () => {})
      child.stdin?.end(`${JSON.stringify(event)}\n`)
      let finished = false
      const finish = (code: number | null, signal: NodeJS.Signals | null, err?: Error) => {
        // 'error' may be followed by 'close'
        if (finished) return
        finished = true
        clearTimeout(timer)
        this.current = undefined
        this.runs++
        if (err != null || code !== 0) {
          this.failures++
          const why = err?.message ?? (signal != null ? `killed by ${signal}` : `exit code ${code}`)
          log.emit(
            'on_event_failed',
            { type: event.type, id, reason: why, stderr: stderr.trim() },
            `--on-event command failed for ${event.type} ${id}: ${why}${stderr.trim() !== '' ? `: ${stderr.trim()}` : ''}`,
            'warn',
          )
        }
        resolve()
      }
      child.once('error', (err) => finish(null, null, err))
      child.once('close', (code, signal) => finish(code, signal))
    })
  }
}

/**
 * Kills the shell and everything it started: killing the shell alone leaves its children holding the
 * stderr pipe, and the run would not end (nor the node stop) until they exit on their own.
 */
function killGroup(child: ReturnType<typeof spawn> | undefined): void {
  if (child?.pid == null) return
  try {
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    // the group is gone already; the shell itself may still be unreaped
    child.kill('SIGKILL')
  }
}
