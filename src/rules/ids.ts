// Ids this node makes up (task ids, message ids): UUIDs of version 7, whose first 48 bits are the time
// in ms. Random (v4) ids land all over a B-tree index, so with a million tasks stored each insert
// touches pages that are not in the cache; time-ordered ids land together at the end of the index.
import { randomFillSync } from 'node:crypto'

/** Random bytes drawn 4 KiB at a time: one call to the CSPRNG per 409 ids, not one per id. */
const pool = Buffer.alloc(4096)
let used = pool.length
const bytes = Buffer.alloc(16)

/** A fresh UUIDv7 (RFC 9562): 48-bit ms timestamp, version 7, variant 10, 74 random bits. */
export function newId(now: number = Date.now()): string {
  if (used + 10 > pool.length) {
    randomFillSync(pool)
    used = 0
  }
  bytes.writeUIntBE(Math.max(0, Math.floor(now)) % 2 ** 48, 0, 6)
  pool.copy(bytes, 6, used, used + 10)
  used += 10
  bytes[6] = (bytes[6]! & 0x0f) | 0x70
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const h = bytes.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}
