/** A broadcast that is malformed, over a limit, or whose signature does not hold. */
export class InvalidBroadcastError extends Error {
  static override readonly name = 'InvalidBroadcastError'
  override name = 'InvalidBroadcastError'
}

/** This node's own queue of broadcasts to publish is full: try again after `retryAfter` seconds. */
export class PublishBacklogError extends Error {
  static override readonly name = 'PublishBacklogError'
  override name = 'PublishBacklogError'
  constructor(
    message: string,
    readonly retryAfter: number,
  ) {
    super(message)
  }
}
