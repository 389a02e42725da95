/** Why an A2A bridge request was refused: `code` as the control API's error codes (invalid, not_found, conflict, unreachable). */
export class A2aBridgeError extends Error {
  constructor(
    readonly code: 'invalid' | 'not_found' | 'conflict' | 'unreachable',
    message: string,
  ) {
    super(message)
    this.name = 'A2aBridgeError'
  }
}
