/** An entry that is malformed, over a limit, or not signed by its author. */
export class InvalidEntryError extends Error {
  static override readonly name = 'InvalidEntryError'
  override name = 'InvalidEntryError'
}

/** A request about files that cannot be carried out; `code` is stable for API clients. */
export class FileError extends Error {
  static override readonly name = 'FileError'
  override name = 'FileError'
  constructor(
    readonly code: 'invalid_key' | 'not_found' | 'conflict' | 'too_large' | 'unavailable' | 'invalid',
    message: string,
  ) {
    super(message)
  }
}
