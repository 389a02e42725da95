export class InvalidCardError extends Error {
  static override readonly name = 'InvalidCardError'
  override name = 'InvalidCardError'
}
