// What the node tells a person (human lines on stderr) or an agent (`--json`: one object per line on stdout).

export type LogLevel = 'info' | 'warn' | 'error'

export class EventLog {
  constructor(
    private readonly json: boolean,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly err: NodeJS.WritableStream = process.stderr,
  ) {}

  /** `event` is a stable snake_case name; `fields` its JSON payload; `text` the human line. */
  emit(event: string, fields: Record<string, unknown>, text: string, level: LogLevel = 'info'): void {
    const time = new Date()
    if (this.json) {
      this.out.write(`${JSON.stringify({ time: time.toISOString(), level, event, ...fields })}\n`)
      return
    }
    const stamp = time.toISOString().slice(11, 23)
    const prefix = level === 'info' ? '' : `${level.toUpperCase()}: `
    this.err.write(`${stamp} ${prefix}${text}\n`)
  }

  /** Text for people only (the start banner); in JSON mode the `started` event carries the same facts. */
  banner(text: string): void {
    if (!this.json) this.out.write(text.endsWith('\n') ? text : `${text}\n`)
  }
}
