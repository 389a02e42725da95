import { ClientError } from '../client/errors.js'

/** A bad command line: usage is printed and the exit code is 2. */
export class UsageError extends Error {
  static override readonly name = 'UsageError'
  override name = 'UsageError'
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message)
  }
}

/** A failure to report to the user in one clear line; exit code 1 unless given. */
export class CliError extends ClientError {
  static override readonly name = 'CliError'
  override name = 'CliError'
}
