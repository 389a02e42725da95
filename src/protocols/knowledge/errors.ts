/** A broadcast that is malformed, over a limit, or whose signature does not hold. */
export class InvalidBroadcastError extends Error {
  static override readonly name = 'InvalidBroadcastError'
  override name = 'InvalidBroadcastError'
}
