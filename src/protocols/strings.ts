// Wire strings are decoded strictly: protons' own decoder accepts overlong forms, encoded surrogates and
// cut sequences and turns them into other text. The text rules themselves are src/rules/text.ts.
import { type Codec, type DecodeOptions, reader } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'
import { decodeUtf8 } from '../rules/text.js'

/**
 * Decodes a protons message, refusing any string field that is not valid UTF-8 (protons' own decoder
 * accepts overlong forms, encoded surrogates and truncated sequences and turns them into other text).
 * Throws InvalidTextError for bad text, protons' errors for a malformed message.
 */
export function decodeStrict<T>(
  message: { codec(): Codec<T> },
  bytes: Uint8Array | Uint8ArrayList,
  opts?: DecodeOptions<T>,
): T {
  const r = reader(bytes)
  r.string = function string(this: typeof r) {
    return decodeUtf8(this.bytes(), 'a string field')
  }
  return message.codec().decode(r, undefined, opts)
}
