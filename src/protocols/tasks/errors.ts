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

/** A failure's text; streams sometimes reject with an Event (abort, close) rather than an Error. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message !== '' ? err.message : err.name
  if (err != null && typeof err === 'object') {
    const e = err as { error?: unknown; type?: unknown }
    if (e.error instanceof Error) return e.error.message
    if (typeof e.type === 'string') return `stream ${e.type}`
  }
  return String(err)
}
