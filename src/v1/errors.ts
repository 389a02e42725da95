/** An answer other than 200 to a v1 client: `status` with {"error": message}. */
export class V1Error extends Error {
  static override readonly name = 'V1Error'
  override name = 'V1Error'

  constructor(
    readonly status: number,
    message: string,
    /** seconds, sent as Retry-After (a 429) */
    readonly retryAfter?: number,
  ) {
    super(message)
  }
}

export const badRequest = (message: string): V1Error => new V1Error(400, message)
