// node:sqlite on Node 22 reads a TEXT value only up to its first NUL (Node 24 reads all of it), though
// the bytes are stored whole on both. Columns that carry user content are read back as BLOBs and decoded,
// so a task, result or broadcast with a NUL inside comes back as it went in; no stored row changes.

/** `CAST(c AS BLOB) AS c` for each column: its stored bytes, whole. */
export function asBytes(...columns: string[]): string {
  return columns.map((c) => `CAST(${c} AS BLOB) AS ${c}`).join(', ')
}

/** A column read with asBytes (or a plain TEXT value) as a string; NULL stays null. */
export function textOrNull(v: unknown): string | null {
  if (v == null) return null
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8')
  return String(v)
}

/** As textOrNull, for a NOT NULL column. */
export function text(v: unknown): string {
  return textOrNull(v) ?? ''
}
