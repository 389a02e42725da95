/** A card field out of bounds; the message names the field and the rule. */
export class InvalidCardError extends Error {
  static override readonly name = 'InvalidCardError'
  override name = 'InvalidCardError'
}
