// Strings are carried intact or refused, never silently changed. Bytes that are not UTF-8 (from an API
// client, stdin or a peer) would otherwise become U+FFFD or stray surrogates, and a lone surrogate
// (JSON.parse takes "\ud800") would become U+FFFD once stored or sent: refuse both where they enter.

export class InvalidTextError extends Error {
  static override readonly name = 'InvalidTextError'
  override name = 'InvalidTextError'
}

// ignoreBOM: a leading U+FEFF is content too, kept rather than stripped
const FATAL = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** The text in `bytes`; throws InvalidTextError(`<what> is not valid UTF-8`) rather than replacing. */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return FATAL.decode(bytes)
  } catch {
    throw new InvalidTextError(`${what} is not valid UTF-8`)
  }
}

// with the u flag a surrogate pair is one code point: only a lone half matches
const LONE_SURROGATE = /\p{Cs}/u

/** A UTF-16 string that encodes to UTF-8 and back unchanged (no lone surrogate). */
export function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s)
}

/**
 * Where a parsed JSON value holds a string that is not well-formed (a lone surrogate), as a field path
 * under `root` (`task`, `tags[1]`, `context.k`), or undefined if every string and key is well-formed.
 * Iterative: JSON.parse takes nesting deeper than the call stack.
 */
export function illFormedAt(value: unknown, root = ''): string | undefined {
  const stack: Array<[unknown, string]> = [[value, root]]
  while (stack.length > 0) {
    const [v, path] = stack.pop()!
    if (typeof v === 'string') {
      if (!isWellFormed(v)) return path === '' ? 'the value' : path
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`])
    } else if (v != null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        const at = path === '' ? k : `${path}.${k}`
        if (!isWellFormed(k)) return `a key in ${path === '' ? 'the body' : path}`
        stack.push([child, at])
      }
    }
  }
  return undefined
}

/** Throws InvalidTextError naming the field if `value` holds a lone surrogate anywhere. */
export function assertWellFormed(value: unknown, root = ''): void {
  const at = illFormedAt(value, root)
  if (at != null) throw new InvalidTextError(`${at} is not valid Unicode (a lone surrogate)`)
}
