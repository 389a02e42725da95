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
