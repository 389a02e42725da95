/** A sync response that breaks the protocol (a bad epoch, a cursor going back); the pass is dropped. */
export class InvalidSyncResponseError extends Error {
  static override readonly name = 'InvalidSyncResponseError'
  override name = 'InvalidSyncResponseError'
}
