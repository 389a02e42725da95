/** The node could not start, or had to stop (its store was lost): the CLI exits 1 with this message. */
export class DaemonError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DaemonError'
  }
}
