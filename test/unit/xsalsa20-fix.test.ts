import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { fixXSalsa20 } from '../../src/core/xsalsa20-fix.js'

const require = createRequire(import.meta.resolve('@libp2p/pnet'))
type Cipher = { update(input: Uint8Array, output?: Uint8Array): Uint8Array; finalize(): void }
const XSalsa20 = require('xsalsa20') as (nonce: Uint8Array, key: Uint8Array) => Cipher

describe('xsalsa20 memory fix', () => {
  it('lets several ciphers take turns with large buffers without exhausting WASM memory, and stays correct', () => {
    expect(fixXSalsa20()).toBe(true)
    const nonce = randomBytes(24)
    const key = randomBytes(32)
    const ciphers = Array.from({ length: 4 }, () => XSalsa20(nonce, key))
    const decipher = XSalsa20(nonce, key)
    const big = randomBytes(8 * 1024 * 1024)
    // before the fix, each instance with a stale view grew the shared memory by its whole need, so
    // taking turns with 8 MiB buffers exhausted it within 100 rounds (checked without the fix)
    for (let round = 0; round < 100; round++) {
      for (const c of ciphers) c.update(big)
    }
    // and encryption is still a correct stream cipher
    const plain = randomBytes(3 * 1024 * 1024 + 5)
    const enc = ciphers[0]!.update(plain)
    const fresh = XSalsa20(nonce, key)
    const round0 = XSalsa20(nonce, key)
    for (let round = 0; round < 100; round++) round0.update(big)
    expect(Buffer.compare(round0.update(enc), plain)).toBe(0)
    expect(Buffer.compare(decipher.update(fresh.update(plain)), plain)).toBe(0)
    for (const c of [...ciphers, decipher, fresh, round0]) c.finalize()
  })
})
