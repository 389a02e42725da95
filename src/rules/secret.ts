// Comparing a secret a client sent (a token) with ours without leaking, through timing, how much of it
// matched: the HTTP servers (MCP, dashboard, v1, A2A) all check tokens this way.
import { timingSafeEqual } from 'node:crypto'

/** Whether `given` is exactly `expected`, compared in constant time; a missing secret never matches. */
export function sameSecret(given: string | undefined, expected: string): boolean {
  if (given == null) return false
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}
