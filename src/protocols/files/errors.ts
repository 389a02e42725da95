/** An entry that is malformed, over a limit, or not signed by its author. */
export class InvalidEntryError extends Error {
  static override readonly name = 'InvalidEntryError'
  override name = 'InvalidEntryError'
}

/**
 * A valid entry whose version is further above this node's view of its key (or its clock in ms) than
 * MAX_VERSION_STEP. It depends on what this node has seen, so it is not proof of malice: not forwarded,
 * not stored, asked for again at the next sync.
 */
export class VersionJumpError extends Error {
  static override readonly name = 'VersionJumpError'
  override name = 'VersionJumpError'
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
