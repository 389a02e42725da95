// Shared pieces of the fuzz tests: run settings, hostile strings and values, and byte mutations.
import fc from 'fast-check'

/**
 * A fixed seed keeps runs reproducible; FUZZ_SEED=<n> explores other inputs, FUZZ_RUNS=<n> scales
 * every property's run count (e.g. FUZZ_RUNS=10 for a ten times longer soak).
 */
export const SEED = Number(process.env.FUZZ_SEED ?? 20_261_125)
const SCALE = Number(process.env.FUZZ_RUNS ?? 1)

export function runs(numRuns: number, salt = 0): { seed: number; numRuns: number; endOnFailure: boolean } {
  return { seed: SEED + salt, numRuns: Math.max(1, Math.round(numRuns * SCALE)), endOnFailure: true }
}

/** Strings that hurt: empty, blank, control characters, lone surrogates, RTL marks, NULs, long runs. */
export const nastyString = (maxLength = 40): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.string({ maxLength }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '',
        ' ',
        '\t\n',
        '\u0000',
        '\ud800',
        '\udfff',
        'a\ud800b',
        '\u202e',
        '\u2028',
        '\ufeff',
        '..',
        '.',
        '/',
        '-',
        'constructor',
        '__proto__',
        'toString',
        'hasOwnProperty',
        '%00',
        '%',
        'null',
        '[]',
        '{}',
        '1e309',
        '-1',
        'NaN',
        '😀',
        'ü'.normalize('NFD'),
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom('a', 'é', '😀', '\u0000', ',', '/'), fc.integer({ min: 60, max: 2000 }))
        .map(([c, n]) => c.repeat(n)),
    },
  )

/** Numbers at the edges: zero, negatives, fractions, huge, unsafe integers. */
export const nastyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.constantFrom(
    0,
    -0,
    -1,
    0.5,
    1e-9,
    999,
    1000,
    1001,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 2,
    2 ** 53,
    2 ** 64,
    1e308,
    -1e308,
  ),
)

/** Any JSON value, weighted towards the types a field may wrongly get. */
export const anyJson = (maxLength = 40): fc.Arbitrary<unknown> =>
  fc.oneof(
    nastyString(maxLength),
    nastyNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(nastyString(12), { maxLength: 5 }),
    fc.jsonValue({ maxDepth: 2 }),
  )

type Mutation =
  | { op: 'flip'; at: number; mask: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'append'; bytes: Uint8Array }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; count: number }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({
    op: fc.constant('set' as const),
    at: fc.nat(),
    // varint continuation, max and zero bytes make decoders read past fields
    value: fc.oneof(fc.constantFrom(0x00, 0x7f, 0x80, 0xff), fc.integer({ min: 0, max: 255 })),
  }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }) }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
)

function apply(bytes: Uint8Array, m: Mutation): Uint8Array {
  const n = bytes.length
  switch (m.op) {
    case 'flip': {
      if (n === 0) return bytes
      const out = Uint8Array.from(bytes)
      out[m.at % n]! ^= m.mask
      return out
    }
    case 'set': {
      if (n === 0) return bytes
      const out = Uint8Array.from(bytes)
      out[m.at % n] = m.value
      return out
    }
    case 'truncate':
      return bytes.slice(0, m.at % (n + 1))
    case 'append':
      return Uint8Array.from([...bytes, ...m.bytes])
    case 'insert': {
      const at = m.at % (n + 1)
      return Uint8Array.from([...bytes.subarray(0, at), ...m.bytes, ...bytes.subarray(at)])
    }
    case 'delete': {
      const at = m.at % (n + 1)
      return Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + m.count)])
    }
  }
}

/** 1-4 random edits (flip, overwrite, truncate, append, insert, delete) of the given bytes. */
export function mutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([bytes, ms]) => ms.reduce(apply, bytes))
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}

/**
 * Valid values with up to two fields swapped for hostile ones: inputs near the boundary, where a
 * validator that forgets one check is caught (fully random values are refused for many reasons at once).
 */
export function nearValid<T extends object>(
  valid: fc.Arbitrary<T>,
  hostile: { [K in keyof T]?: fc.Arbitrary<T[K]> },
): fc.Arbitrary<T> {
  const fields = Object.keys(hostile)
  return fc
    .tuple(
      valid,
      fc.subarray(fields, { maxLength: Math.min(2, fields.length) }),
      fc.record(hostile as Record<string, fc.Arbitrary<unknown>>),
    )
    .map(([v, chosen, h]) => {
      const out = { ...v } as Record<string, unknown>
      for (const k of chosen) out[k] = h[k]
      return out as T
    })
}
