// What an agent's card may say about it (its name, caps and description): checked by the CLI before a
// node starts, by the node for its own card, and by presence for every card it receives.
import { InvalidCardError } from './errors.js'

export { InvalidCardError }

export const MAX_NAME_LENGTH = 64
export const MAX_CAPS = 32
export const MAX_CAP_LENGTH = 64
export const MAX_DESCRIPTION_LENGTH = 1024

/** Names and caps: letters, digits and . _ - (a name may not start with - or .) */
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/
const CAP_RE = /^[A-Za-z0-9_][A-Za-z0-9._:/-]*$/

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
export const CONTROL_RE = /[\u0000-\u0008\u000b-\u001f\u007f]/

export function validateName(name: string): void {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || !NAME_RE.test(name)) {
    throw new InvalidCardError(
      `invalid agent name ${JSON.stringify(name.slice(0, 80))}: 1-${MAX_NAME_LENGTH} characters of letters, digits, '.', '_' and '-', not starting with '.' or '-'`,
    )
  }
}

export function validateCaps(caps: string[]): void {
  if (caps.length > MAX_CAPS)
    throw new InvalidCardError(`too many caps: ${caps.length} (at most ${MAX_CAPS})`)
  for (const cap of caps) {
    if (cap.length === 0 || cap.length > MAX_CAP_LENGTH || !CAP_RE.test(cap)) {
      throw new InvalidCardError(
        `invalid cap ${JSON.stringify(cap.slice(0, 80))}: 1-${MAX_CAP_LENGTH} characters of letters, digits and . _ : / -`,
      )
    }
  }
  if (new Set(caps).size !== caps.length) throw new InvalidCardError('caps must not repeat')
}

export function validateDescription(description: string): void {
  if (description.length > MAX_DESCRIPTION_LENGTH) {
    throw new InvalidCardError(
      `description too long: ${description.length} characters (at most ${MAX_DESCRIPTION_LENGTH})`,
    )
  }
  if (CONTROL_RE.test(description)) throw new InvalidCardError('description contains control characters')
}
