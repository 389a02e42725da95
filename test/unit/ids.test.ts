import { describe, expect, it } from 'vitest'
import { newId } from '../../src/rules/ids.js'

describe('newId', () => {
  it('is a UUID of version 7 and variant 10, carrying the time in ms', () => {
    const at = Date.UTC(2026, 11, 2, 13, 0, 0, 123)
    const id = newId(at)
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at)
  })

  it('sorts by time, so new rows land at the end of an index; never repeats', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => newId(1_700_000_000_000 + i))
    expect([...ids].sort()).toEqual(ids)
    expect(new Set(Array.from({ length: 10_000 }, () => newId(1_700_000_000_000))).size).toBe(10_000)
  })
})
