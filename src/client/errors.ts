/** A failure to reach or use a node, in one line written for a person; exit code 1 unless given. */
export class ClientError extends Error {
  static override readonly name: string = 'ClientError'
  override name: string = 'ClientError'
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message)
  }
}

/** The node answered with an error: its HTTP status and error code kept, for a relay (the dashboard). */
export class NodeAnswerError extends ClientError {
  static override readonly name: string = 'NodeAnswerError'
  override name: string = 'NodeAnswerError'
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message)
  }
}
