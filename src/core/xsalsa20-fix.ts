// A fix for a memory bug in `xsalsa20` (1.2.0), the cipher under @libp2p/pnet. Its WASM instances share
// one WebAssembly.Memory; when one grows it, the others' views go stale (detached, length 0), and their
// next `realloc` grows the memory again by the whole size they need instead of by what is missing.
// Under bulk traffic on several connections the memory climbs to its maximum and the process dies
// with "WebAssembly.Memory.grow(): Maximum memory size exceeded". We refresh a stale view before
// deciding how much to grow. The patch is applied once, at node start, and checked by a test.
import { createRequire } from 'node:module'

type Instance = { _memory: { length: number } }
type Realloc = (this: Instance, size: number) => void

let applied = false

export function fixXSalsa20(): boolean {
  if (applied) return true
  const require = createRequire(import.meta.resolve('@libp2p/pnet'))
  const XSalsa20 = require('xsalsa20') as (
    nonce: Uint8Array,
    key: Uint8Array,
  ) => { _xor: object; finalize(): void }
  const probe = XSalsa20(new Uint8Array(24), new Uint8Array(32))
  const proto = Object.getPrototypeOf(probe._xor) as {
    realloc?: Realloc
    finalize?: (this: Instance) => void
  }
  probe.finalize()
  const original = proto.realloc
  const finalize = proto.finalize
  if (typeof original !== 'function' || typeof finalize !== 'function') return false // the JS fallback is fine
  // with a pretend view of exactly `size`, the original grows by zero pages and refreshes the view
  const refresh = (self: Instance, size: number) => {
    self._memory = { length: size }
    original.call(self, size)
  }
  proto.realloc = function (size: number) {
    refresh(this, size)
    // now the view is current: grow only by what is really missing
    if (size >= this._memory.length) original.call(this, size)
  }
  proto.finalize = function () {
    // wiping the key needs a live view too
    refresh(this, 0)
    finalize.call(this)
  }
  applied = true
  return true
}
