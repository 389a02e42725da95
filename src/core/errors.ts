/** A request that contradicts an earlier one, e.g. a task id already used by another task. */
export class ConflictError extends Error {
  readonly code = 'conflict'
  constructor(message: string) {
    super(message)
    this.name = 'ConflictError'
  }
}
