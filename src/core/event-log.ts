// What the node tells a person (human lines on stderr) or an agent (`--json`: one object per line on stdout).

export type LogLevel = 'info' | 'warn' | 'error'

export class EventLog {
  /** lines emitted in this run of the event loop, written together at its end (one write, not one each) */
  private pending: { out: string; err: string } = { out: '', err: '' }
  private flushQueued = false

  /**
   * `coalesce`: the lines of one run of code (a group commit settling many tasks, each with its line)
   * are written together once it ends (a microtask), in one write rather than one each; without it
   * (tests reading a sink at once), each line is written as it is emitted.
   */
  constructor(
    private readonly json: boolean,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly err: NodeJS.WritableStream = process.stderr,
    private readonly coalesce = false,
  ) {}

  /** `event` is a stable snake_case name; `fields` its JSON payload; `text` the human line. */
  emit(event: string, fields: Record<string, unknown>, text: string, level: LogLevel = 'info'): void {
    const time = new Date()
    if (this.json) {
      this.queue('out', `${JSON.stringify({ time: time.toISOString(), level, event, ...fields })}\n`)
      return
    }
    const stamp = time.toISOString().slice(11, 23)
    const prefix = level === 'info' ? '' : `${level.toUpperCase()}: `
    this.queue('err', `${stamp} ${prefix}${text}\n`)
  }

  /** Text for people only (the start banner); in JSON mode the `started` event carries the same facts. */
  banner(text: string): void {
    if (!this.json) this.queue('out', text.endsWith('\n') ? text : `${text}\n`)
  }

  /** Writes what is pending now (also run by itself once the current run of code ends: a microtask). */
  flush(): void {
    this.flushQueued = false
    const { out, err } = this.pending
    this.pending = { out: '', err: '' }
    if (out !== '') this.out.write(out)
    if (err !== '') this.err.write(err)
  }

  private queue(to: 'out' | 'err', line: string): void {
    if (!this.coalesce) {
      this[to].write(line)
      return
    }
    this.pending[to] += line
    if (this.flushQueued) return
    this.flushQueued = true
    queueMicrotask(() => this.flush())
  }
}
