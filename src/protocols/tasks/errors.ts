/** A task request that cannot be carried out; `code` is stable for API clients. */
export class TaskError extends Error {
  static override readonly name = 'TaskError'
  override name = 'TaskError'
  constructor(
    readonly code: 'not_found' | 'ambiguous' | 'final' | 'invalid' | 'not_yours' | 'too_large',
    message: string,
  ) {
    super(message)
  }
}

/** A message from a peer that breaks the protocol's rules. */
export class InvalidTaskMessageError extends Error {
  static override readonly name = 'InvalidTaskMessageError'
  override name = 'InvalidTaskMessageError'
}
