// Fuzzing every wire decoder and the validation on top of it: random and mutated bytes either decode
// to a well-formed message or throw an Error, and the validators either accept what the protocol
// allows or throw their own error class, never a TypeError or RangeError.
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import { beforeAll, describe, expect, it } from 'vitest'
import { type OptionSpecs, parseArgs, parseDuration } from '../../src/cli/args.js'
import { GLOBAL_OPTIONS } from '../../src/cli/command.js'
import { COMMANDS, findCommand } from '../../src/cli/commands/index.js'
import { UsageError } from '../../src/cli/errors.js'
import * as filesLimits from '../../src/protocols/files/constants.js'
import { createEntry, openEntry } from '../../src/protocols/files/entry.js'
import { InvalidEntryError } from '../../src/protocols/files/errors.js'
import * as files from '../../src/protocols/files/pb/files.js'
import { createBroadcast, openBroadcast } from '../../src/protocols/knowledge/broadcast.js'
import * as knowledgeLimits from '../../src/protocols/knowledge/constants.js'
import { InvalidBroadcastError } from '../../src/protocols/knowledge/errors.js'
import { KnowledgeStore } from '../../src/protocols/knowledge/knowledge-store.js'
import * as knowledge from '../../src/protocols/knowledge/pb/knowledge.js'
import { validateCard } from '../../src/protocols/presence/card.js'
import * as presenceLimits from '../../src/protocols/presence/constants.js'
import { InvalidCardError } from '../../src/protocols/presence/errors.js'
import { AgentCard, PresenceMessage } from '../../src/protocols/presence/pb/presence.js'
import { decodeStrict } from '../../src/protocols/strings.js'
import * as syncLimits from '../../src/protocols/sync/constants.js'
import * as sync from '../../src/protocols/sync/pb/sync.js'
import * as taskLimits from '../../src/protocols/tasks/constants.js'
import { InvalidTaskMessageError } from '../../src/protocols/tasks/errors.js'
import { TaskAcks, TaskFrame, TaskMessage } from '../../src/protocols/tasks/pb/task.js'
import { TaskStore } from '../../src/protocols/tasks/task-store.js'
import { MAX_CONTEXT_DEPTH, validateMessage } from '../../src/protocols/tasks/validate.js'
import { InvalidTextError } from '../../src/rules/text.js'
import { Store } from '../../src/store/database.js'
import { mutated, nastyString, nearValid, runs, sameBytes } from './arbitraries.js'

// ---- a small description of each protobuf schema, from which values are generated and checked ----

type Kind =
  | 'string'
  | 'bytes'
  | 'uint64'
  /** a uint64 field read as a JS number (`jstype = JS_NUMBER`): exact up to 2^53 - 1 */
  | 'uint53'
  | 'uint32'
  | 'bool'
  | { enum: string[] }
  | { repeated: 'string' | 'bytes' }
  | { message: Schema }
  | { repeatedMessage: Schema }
type Schema = Record<string, Kind>

const SAFE = BigInt(Number.MAX_SAFE_INTEGER)
/**
 * protons-runtime (7.1.2, and 8.0.1 still) encodes uint64 values from 2^31 to 2^32 - 1 wrongly: its
 * LongBits.length() reads the low word as a signed int, counts one byte and lets the varint overwrite
 * what follows (see the canary test at the end). Generated values skip that range (moved up by 2^32,
 * every range used here reaches past 2^33) so the properties test this code, not that bug.
 */
const LONGBITS_BUG = { from: 2n ** 31n, to: 2n ** 32n }
function u64(min = 0n, max = 2n ** 64n - 1n): fc.Arbitrary<bigint> {
  return fc
    .bigInt({ min, max })
    .map((v) => (v >= LONGBITS_BUG.from && v < LONGBITS_BUG.to ? v + LONGBITS_BUG.to : v))
}
const U64 = u64()
/** Exact numbers, with the 2^31 .. 2^32 range the bigint writer breaks on well represented. */
const U53 = fc.oneof(
  fc.nat(),
  fc.integer({ min: 2 ** 31 - 2, max: 2 ** 32 + 2 }),
  fc.double({ min: 0, max: Number.MAX_SAFE_INTEGER, noNaN: true }).map(Math.floor),
  fc.constantFrom(0, Number.MAX_SAFE_INTEGER),
)

/** The values of a protons enum (its namespace also holds a `codec` function). */
function enumValues(e: object): string[] {
  return Object.values(e).filter((v): v is string => typeof v === 'string')
}

const AGENT_CARD: Schema = {
  name: 'string',
  caps: { repeated: 'string' },
  description: 'string',
  machine: 'string',
  version: 'string',
  startedAt: 'uint64',
  load: 'uint32',
  addrs: { repeated: 'bytes' },
  relayOnly: 'bool',
}

interface Codec {
  encode(obj: never): Uint8Array
  decode(buf: Uint8Array | Uint8ArrayList): unknown
}

const MESSAGES: Array<{ name: string; codec: Codec; schema: Schema }> = [
  {
    name: 'presence PresenceMessage',
    codec: PresenceMessage,
    schema: {
      type: { enum: enumValues(PresenceMessage.Type) },
      card: { message: AGENT_CARD },
      seq: 'uint64',
      suspects: { repeatedMessage: { peer: 'bytes', startedAt: 'uint64', seq: 'uint64' } },
    },
  },
  { name: 'presence AgentCard', codec: AgentCard, schema: AGENT_CARD },
  {
    name: 'tasks TaskMessage',
    codec: TaskMessage,
    schema: {
      kind: { enum: enumValues(TaskMessage.Kind) },
      msgId: 'string',
      taskId: 'string',
      task: 'string',
      context: 'string',
      priority: { enum: enumValues(TaskMessage.Priority) },
      createdAt: 'uint64',
      expiresAt: 'uint64',
      state: { enum: enumValues(TaskMessage.State) },
      result: 'string',
      reason: 'string',
    },
  },
  { name: 'tasks TaskFrame', codec: TaskFrame, schema: { seq: 'uint64', message: 'bytes' } },
  {
    name: 'tasks TaskAcks',
    codec: TaskAcks,
    schema: { through: 'uint64', refused: { repeatedMessage: { seq: 'uint64', reason: 'string' } } },
  },
  {
    name: 'knowledge BroadcastBody',
    codec: knowledge.BroadcastBody,
    schema: {
      author: 'bytes',
      topic: 'string',
      tags: { repeated: 'string' },
      content: 'string',
      time: 'uint64',
      nonce: 'bytes',
    },
  },
  { name: 'knowledge Broadcast', codec: knowledge.Broadcast, schema: { body: 'bytes', signature: 'bytes' } },
  {
    name: 'sync SyncRequest',
    codec: sync.SyncRequest,
    schema: {
      kind: { enum: enumValues(sync.SyncRequest.Kind) },
      epoch: 'string',
      after: 'uint53',
      ids: { repeated: 'string' },
    },
  },
  {
    name: 'sync SyncResponse',
    codec: sync.SyncResponse,
    schema: {
      epoch: 'string',
      ids: { repeated: 'string' },
      cursor: 'uint53',
      more: 'bool',
      items: { repeated: 'bytes' },
      restart: 'bool',
    },
  },
  {
    name: 'files EntryBody',
    codec: files.EntryBody,
    schema: {
      key: 'string',
      version: 'uint53',
      base: 'uint53',
      author: 'bytes',
      time: 'uint53',
      size: 'uint53',
      sha256: 'bytes',
      mediaType: 'string',
      deleted: 'bool',
    },
  },
  { name: 'files Entry', codec: files.Entry, schema: { body: 'bytes', signature: 'bytes' } },
  {
    name: 'files BlobRequest',
    codec: files.BlobRequest,
    schema: { sha256: 'bytes', offset: 'uint53', length: 'uint32' },
  },
  { name: 'files BlobHeader', codec: files.BlobHeader, schema: { found: 'bool', size: 'uint53' } },
]

function fieldArb(kind: Kind, depth: number): fc.Arbitrary<unknown> {
  if (kind === 'string') return nastyString(24)
  if (kind === 'bytes') return fc.uint8Array({ maxLength: 48 })
  if (kind === 'uint64') return U64
  if (kind === 'uint53') return U53
  if (kind === 'uint32') return fc.nat({ max: 2 ** 32 - 1 })
  if (kind === 'bool') return fc.boolean()
  if ('enum' in kind) return fc.constantFrom(...kind.enum)
  if ('repeated' in kind) return fc.array(fieldArb(kind.repeated, depth), { maxLength: 6 })
  if ('message' in kind) return fc.option(messageArb(kind.message, depth + 1), { nil: undefined })
  return fc.array(messageArb(kind.repeatedMessage, depth + 1), { maxLength: 4 })
}

function messageArb(schema: Schema, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const fields: Record<string, fc.Arbitrary<unknown>> = {}
  for (const [name, kind] of Object.entries(schema)) fields[name] = fieldArb(kind, depth)
  return fc.record(fields)
}

/** Throws (with the path) unless `value` has exactly the types the schema promises. */
function checkShape(schema: Schema, value: unknown, path = '$'): void {
  if (value == null || typeof value !== 'object') throw new Error(`${path} is not an object`)
  const obj = value as Record<string, unknown>
  for (const [name, kind] of Object.entries(schema)) checkField(kind, obj[name], `${path}.${name}`)
}

function checkField(kind: Kind, v: unknown, path: string): void {
  const fail = () => {
    throw new Error(`${path} has a bad value: ${String(v)}`)
  }
  if (kind === 'string') {
    if (typeof v !== 'string') fail()
  } else if (kind === 'bytes') {
    if (!(v instanceof Uint8Array)) fail()
  } else if (kind === 'uint64') {
    if (typeof v !== 'bigint' || v < 0n || v >= 2n ** 64n) fail()
  } else if (kind === 'uint53') {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail()
  } else if (kind === 'uint32') {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= 2 ** 32) fail()
  } else if (kind === 'bool') {
    if (typeof v !== 'boolean') fail()
  } else if ('enum' in kind) {
    if (!kind.enum.includes(v as string)) fail()
  } else if ('repeated' in kind) {
    if (!Array.isArray(v)) fail()
    ;(v as unknown[]).forEach((x, i) => {
      checkField(kind.repeated, x, `${path}[${i}]`)
    })
  } else if ('message' in kind) {
    if (v !== undefined) checkShape(kind.message, v, path)
  } else {
    if (!Array.isArray(v)) fail()
    ;(v as unknown[]).forEach((x, i) => {
      checkShape(kind.repeatedMessage, x, `${path}[${i}]`)
    })
  }
}

// ---- byte sources ----

/** Bytes shaped like protobuf: tags of every wire type (valid or not) followed by plausible payloads. */
const protobufish: fc.Arbitrary<Uint8Array> = fc
  .array(
    fc.record({
      field: fc.integer({ min: 0, max: 20 }),
      wire: fc.integer({ min: 0, max: 7 }),
      payload: fc.oneof(
        fc.uint8Array({ maxLength: 12 }),
        // a length prefix that promises more than follows, or a run of varint continuation bytes
        fc.constantFrom(
          Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f),
          Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
          Uint8Array.of(0x7f),
          Uint8Array.of(0x05, 0x61, 0x62),
        ),
      ),
    }),
    { maxLength: 40 },
  )
  .map((fields) =>
    Uint8Array.from(
      fields.flatMap((f) => [((f.field << 3) | f.wire) & 0xff, ...(f.field > 15 ? [1] : []), ...f.payload]),
    ),
  )

const randomBytes = fc.oneof(fc.uint8Array({ maxLength: 4096 }), protobufish)

/** What a call did: returned a value or threw. Anything thrown must be an Error. */
function attempt<T>(fn: () => T): { ok: true; value: T } | { ok: false; error: Error } {
  try {
    return { ok: true, value: fn() }
  } catch (error) {
    expect(error).toBeInstanceOf(Error)
    return { ok: false, error: error as Error }
  }
}

async function attemptAsync<T>(
  fn: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: Error }> {
  try {
    return { ok: true, value: await fn() }
  } catch (error) {
    expect(error).toBeInstanceOf(Error)
    return { ok: false, error: error as Error }
  }
}

/** The same bytes as a Uint8ArrayList of several chunks, as lpStream hands them over. */
function chunked(bytes: Uint8Array, cuts: number[]): Uint8ArrayList {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const list = new Uint8ArrayList()
  let at = 0
  for (const p of [...points, bytes.length]) {
    list.append(bytes.subarray(at, p))
    at = p
  }
  return list
}

// ---- the protobuf decoders ----

describe.each(MESSAGES)('$name decoder', ({ codec, schema }) => {
  const valid = messageArb(schema).map((m) => codec.encode(m as never))

  it('round-trips generated messages', () => {
    fc.assert(
      fc.property(messageArb(schema), (m) => {
        const decoded = codec.decode(codec.encode(m as never))
        checkShape(schema, decoded)
        expect(decoded).toEqual(m)
      }),
      runs(200),
    )
  })

  it('decodes random bytes to a well-formed message or throws an Error, also from chunked lists', () => {
    fc.assert(
      fc.property(randomBytes, fc.array(fc.nat(), { maxLength: 4 }), (bytes, cuts) => {
        const whole = attempt(() => codec.decode(bytes))
        if (whole.ok) checkShape(schema, whole.value)
        const pieces = attempt(() => codec.decode(chunked(bytes, cuts)))
        expect(pieces.ok).toBe(whole.ok)
        if (whole.ok && pieces.ok) expect(pieces.value).toEqual(whole.value)
      }),
      runs(400),
    )
  })

  it('decodes mutated valid encodings to a well-formed message or throws an Error', () => {
    fc.assert(
      fc.property(mutated(valid), (bytes) => {
        const r = attempt(() => codec.decode(bytes))
        if (r.ok) checkShape(schema, r.value)
      }),
      runs(500),
    )
  })

  it('throws an Error (not a crash) on deeply nested groups', () => {
    // field 15, wire type 3 (start group), nested 200,000 deep: a recursive skip overflows the stack
    const r = attempt(() => codec.decode(new Uint8Array(200_000).fill((15 << 3) | 3)))
    expect(r.ok).toBe(false)
  })
})

// ---- repeated-field limits, as the protocols pass them to decode ----

/** n copies of one repeated field (number `field`, wire type 2) holding `item`. */
function repeated(field: number, n: number, item: Uint8Array): Uint8Array {
  const one = [(field << 3) | 2, item.length, ...item]
  return Uint8Array.from(Array.from({ length: n }, () => one).flat())
}

describe('repeated-field limits', () => {
  // (field number, the limit the protocol passes, decoder, how to count): see files.ts and knowledge.ts
  const cases: Array<{
    name: string
    field: number
    limit: number
    decode: (b: Uint8Array) => number
    item?: fc.Arbitrary<Uint8Array>
  }> = [
    {
      name: 'sync SyncResponse.ids (asker)',
      field: 2,
      limit: syncLimits.IDS_PAGE,
      decode: (b: Uint8Array) =>
        sync.SyncResponse.decode(b, { limits: { ids: syncLimits.IDS_PAGE, items: syncLimits.GET_BATCH } }).ids
          .length,
    },
    {
      name: 'sync SyncResponse.items (asker)',
      field: 5,
      limit: syncLimits.GET_BATCH,
      decode: (b: Uint8Array) =>
        sync.SyncResponse.decode(b, { limits: { ids: syncLimits.IDS_PAGE, items: syncLimits.GET_BATCH } })
          .items.length,
    },
    {
      name: 'sync SyncRequest.ids (responder)',
      field: 4,
      limit: syncLimits.GET_BATCH,
      decode: (b: Uint8Array) =>
        sync.SyncRequest.decode(b, { limits: { ids: syncLimits.GET_BATCH } }).ids.length,
    },
  ]

  it.each(cases)('$name: at most the limit, more is an Error', ({ field, limit, decode, item }) => {
    fc.assert(
      fc.property(
        fc.integer({ min: Math.max(0, limit - 3), max: limit + 3 }),
        item ?? fc.uint8Array({ maxLength: 3 }),
        // other fields mixed in must not reset the count
        fc.uint8Array({ maxLength: 64 }),
        (n, item, noise) => {
          const other = attempt(() => decode(noise))
          if (other.ok) expect(other.value).toBeLessThanOrEqual(limit)
          const r = attempt(() => decode(repeated(field, n, item)))
          if (n <= limit) expect(r).toEqual({ ok: true, value: n })
          else expect(r.ok).toBe(false)
        },
      ),
      runs(60),
    )
  })

  it('limits hold for random and mutated bytes with small limits too', () => {
    const small = { ids: 2, items: 2 }
    const list = fc.oneof(
      randomBytes,
      mutated(fc.integer({ min: 0, max: 6 }).map((n) => repeated(2, n, Uint8Array.of(0x61)))),
      mutated(fc.integer({ min: 0, max: 6 }).map((n) => repeated(4, n, Uint8Array.of(0x61)))),
      mutated(fc.integer({ min: 0, max: 6 }).map((n) => repeated(5, n, Uint8Array.of(0x08, 0x01)))),
    )
    fc.assert(
      fc.property(list, (bytes) => {
        const a = attempt(() => sync.SyncResponse.decode(bytes, { limits: small }))
        if (a.ok) expect(Math.max(a.value.ids.length, a.value.items.length)).toBeLessThanOrEqual(2)
        const c = attempt(() => sync.SyncRequest.decode(bytes, { limits: small }))
        if (c.ok) expect(c.value.ids.length).toBeLessThanOrEqual(2)
      }),
      runs(500),
    )
  })
})

// ---- validation layers ----

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/
const CAP_RE = /^[A-Za-z0-9_][A-Za-z0-9._:/-]*$/
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const CONTROL_RE = /[\u0000-\u0008\u000b-\u001f\u007f]/

/** An independent statement of what docs/protocol.md allows in a card. */
function cardAllowed(c: AgentCard): boolean {
  return (
    c.name.length >= 1 &&
    c.name.length <= presenceLimits.MAX_NAME_LENGTH &&
    NAME_RE.test(c.name) &&
    c.caps.length <= presenceLimits.MAX_CAPS &&
    new Set(c.caps).size === c.caps.length &&
    c.caps.every((x) => x.length >= 1 && x.length <= presenceLimits.MAX_CAP_LENGTH && CAP_RE.test(x)) &&
    c.description.length <= presenceLimits.MAX_DESCRIPTION_LENGTH &&
    !CONTROL_RE.test(c.description) &&
    c.machine.length <= presenceLimits.MAX_MACHINE_LENGTH &&
    !CONTROL_RE.test(c.machine) &&
    c.version.length <= presenceLimits.MAX_VERSION_LENGTH &&
    !CONTROL_RE.test(c.version) &&
    c.startedAt > 0n &&
    c.startedAt <= BigInt(Number.MAX_SAFE_INTEGER) &&
    c.addrs.length <= presenceLimits.MAX_ADDRS &&
    c.addrs.every((a) => a.byteLength >= 1 && a.byteLength <= presenceLimits.MAX_ADDR_LENGTH)
  )
}

/** Cards near the edges of what is allowed. */
const cardArb: fc.Arbitrary<AgentCard> = nearValid<AgentCard>(
  fc.record({
    name: fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/),
    caps: fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._:/-]{0,63}$/), { maxLength: 32 }),
    description: fc.string({ maxLength: 1024 }),
    machine: fc.string({ maxLength: 255 }),
    version: fc.string({ maxLength: 64 }),
    startedAt: u64(1n, SAFE),
    load: fc.nat({ max: 2 ** 32 - 1 }),
    addrs: fc.array(fc.uint8Array({ minLength: 1, maxLength: 256 }), { maxLength: 16 }),
    relayOnly: fc.boolean(),
  }),
  {
    name: fc.oneof(nastyString(70), fc.constantFrom('', '.a', '-a', 'a b', 'a'.repeat(65), 'é')),
    caps: fc.oneof(
      fc.array(nastyString(70), { maxLength: 3 }),
      fc.constantFrom(
        ['a', 'a'],
        [''],
        ['x'.repeat(65)],
        Array.from({ length: 33 }, (_, i) => `c${i}`),
      ),
    ),
    description: fc.oneof(nastyString(40), fc.constantFrom('x'.repeat(1025), 'a\u0007b', 'line\r')),
    machine: fc.oneof(nastyString(40), fc.constant('m'.repeat(256))),
    version: fc.oneof(nastyString(40), fc.constant('1'.repeat(65))),
    startedAt: fc.oneof(U64, fc.constantFrom(0n, SAFE + 1n, 2n ** 64n - 1n)),
    addrs: fc.oneof(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 3 }),
      fc.constantFrom(
        [new Uint8Array(0)],
        [new Uint8Array(257)],
        Array.from({ length: 17 }, () => Uint8Array.of(4)),
      ),
    ),
  },
)

describe('validateCard (presence/card.ts)', () => {
  const check = (card: AgentCard) => {
    const r = attempt(() => validateCard(card))
    if (!r.ok) expect(r.error).toBeInstanceOf(InvalidCardError)
    expect(r.ok).toBe(cardAllowed(card))
  }

  it('accepts exactly the cards the protocol allows, after a round trip through the wire', () => {
    fc.assert(
      fc.property(cardArb, fc.constantFrom(...enumValues(PresenceMessage.Type)), (card, type) => {
        const msg = PresenceMessage.decode(
          PresenceMessage.encode({ type: type as PresenceMessage.Type, card, seq: 1n }),
        )
        check(msg.card!)
      }),
      runs(500),
    )
  })

  it('handles whatever random and mutated presence messages decode to', () => {
    const valid = cardArb.map((card) =>
      PresenceMessage.encode({ type: PresenceMessage.Type.ANNOUNCE, card, seq: 3n }),
    )
    fc.assert(
      fc.property(fc.oneof(randomBytes, mutated(valid)), (bytes) => {
        const r = attempt(() => PresenceMessage.decode(bytes))
        if (r.ok && r.value.card != null) check(r.value.card)
      }),
      runs(500),
    )
  })
})

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/
const utf8 = (s: string) => Buffer.byteLength(s, 'utf8')

/** Nested JSON text, depth levels deep. */
const deepJson = fc
  .tuple(
    fc.oneof(fc.integer({ min: 1, max: 20_000 }), fc.integer({ min: 120, max: 136 })),
    fc.constantFrom(['[', ']'], ['{"a":', '}'], ['[{"b":"[{", "c":', '}]']),
  )
  .map(([depth, [open, close]]) => `${open!.repeat(depth)}1${close!.repeat(depth)}`)

const validTask: fc.Arbitrary<TaskMessage> = fc.record({
  kind: fc.constantFrom(...(enumValues(TaskMessage.Kind) as TaskMessage.Kind[])),
  msgId: fc.oneof(fc.uuid(), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/)),
  taskId: fc.uuid(),
  task: fc.string({ minLength: 1, maxLength: 100 }).filter((t) => t.trim() !== ''),
  context: fc.oneof(fc.constant(''), fc.json({ maxDepth: 3 })),
  priority: fc.constantFrom(...(enumValues(TaskMessage.Priority) as TaskMessage.Priority[])),
  createdAt: u64(0n, SAFE),
  expiresAt: u64(1n, SAFE),
  state: fc.constantFrom(
    TaskMessage.State.WORKING,
    TaskMessage.State.INPUT_REQUIRED,
    TaskMessage.State.COMPLETED,
    TaskMessage.State.FAILED,
    TaskMessage.State.REJECTED,
  ),
  result: fc.string({ maxLength: 100 }),
  reason: fc.string({ maxLength: 1024 }),
  // REPLY's text (absent on the other kinds)
  text: fc.option(
    fc.string({ minLength: 1, maxLength: 100 }).filter((t) => t.trim() !== ''),
    { nil: undefined },
  ),
})

const taskMessageArb: fc.Arbitrary<TaskMessage> = nearValid<TaskMessage>(validTask, {
  msgId: fc.oneof(nastyString(20), fc.constantFrom('', '-a', 'a'.repeat(129), 'a b', 'a/b')),
  taskId: fc.oneof(nastyString(20), fc.constantFrom('', '.a', 'x'.repeat(129))),
  task: fc.oneof(nastyString(40), fc.constantFrom('', ' \n\t', 'x'.repeat(5000))),
  context: fc.oneof(deepJson, nastyString(30), fc.constantFrom('{', '[1,]', 'NaN', 'x'.repeat(5000))),
  createdAt: fc.oneof(U64, fc.constant(SAFE + 1n)),
  expiresAt: fc.oneof(U64, fc.constantFrom(0n, SAFE + 1n)),
  state: fc.constantFrom(...(enumValues(TaskMessage.State) as TaskMessage.State[])),
  result: fc.oneof(nastyString(40), fc.constant('r'.repeat(5000))),
  reason: fc.oneof(nastyString(40), fc.constantFrom('x'.repeat(1025), 'é'.repeat(513))),
})

/** Whether JSON text survives being parsed and written back (what every JSON answer of the node does). */
function reserializable(json: string): boolean {
  try {
    JSON.stringify(JSON.parse(json))
    return true
  } catch {
    return false
  }
}

describe('validateMessage (tasks/validate.ts)', () => {
  const check = (msg: TaskMessage, max: number) => {
    const r = attempt(() => validateMessage(msg, max))
    if (!r.ok) {
      expect(r.error).toBeInstanceOf(InvalidTaskMessageError)
      return
    }
    // accepted: what the protocol promises holds
    for (const id of [msg.msgId, msg.taskId]) {
      expect(id.length).toBeGreaterThan(0)
      expect(id.length).toBeLessThanOrEqual(taskLimits.MAX_ID_LENGTH)
      expect(id).toMatch(ID_RE)
    }
    expect(utf8(msg.reason)).toBeLessThanOrEqual(taskLimits.MAX_REASON_LENGTH)
    if (msg.kind === TaskMessage.Kind.DELEGATE) {
      expect(msg.task.trim()).not.toBe('')
      expect(utf8(msg.task) + utf8(msg.context)).toBeLessThanOrEqual(max)
      // stored contexts are parsed and sent back as JSON in every task listing and poll
      if (msg.context !== '') expect(reserializable(msg.context)).toBe(true)
      expect(msg.expiresAt > 0n && msg.expiresAt <= BigInt(Number.MAX_SAFE_INTEGER)).toBe(true)
      expect(msg.createdAt <= BigInt(Number.MAX_SAFE_INTEGER)).toBe(true)
    } else if (msg.kind === TaskMessage.Kind.UPDATE) {
      expect(['WORKING', 'INPUT_REQUIRED', 'COMPLETED', 'FAILED', 'REJECTED']).toContain(msg.state)
      expect(utf8(msg.result)).toBeLessThanOrEqual(max)
    } else if (msg.kind === TaskMessage.Kind.REPLY) {
      expect(msg.text?.trim()).not.toBe('')
      expect(utf8(msg.text ?? '')).toBeLessThanOrEqual(max)
    } else {
      expect(msg.kind).toBe(TaskMessage.Kind.CANCEL)
    }
  }

  it('accepts only messages within the protocol, for a small and the default size limit', () => {
    fc.assert(
      fc.property(taskMessageArb, fc.constantFrom(64, 4096, taskLimits.MAX_TASK_SIZE), (msg, max) => {
        check(TaskMessage.decode(TaskMessage.encode(msg)), max)
      }),
      runs(600),
    )
  })

  it('accepts a DELEGATE context only if it is JSON that can be written back', () => {
    /** Nesting depth of a parsed JSON value, without recursion (the value may be very deep). */
    const depthOf = (value: unknown): number => {
      let max = 0
      const stack: Array<[unknown, number]> = [[value, 0]]
      while (stack.length > 0) {
        const [v, d] = stack.pop()!
        if (v == null || typeof v !== 'object') continue
        max = Math.max(max, d + 1)
        for (const x of Object.values(v)) stack.push([x, d + 1])
      }
      return max
    }
    const contexts = fc.oneof(fc.json({ maxDepth: 4 }), deepJson, nastyString(30))
    fc.assert(
      fc.property(validTask, contexts, (base, context) => {
        const msg = { ...base, kind: TaskMessage.Kind.DELEGATE, context, text: undefined }
        const r = attempt(() => validateMessage(msg, taskLimits.MAX_TASK_SIZE))
        if (!r.ok) expect(r.error).toBeInstanceOf(InvalidTaskMessageError)
        let parsed: { ok: boolean; depth: number }
        try {
          parsed = { ok: true, depth: depthOf(JSON.parse(context)) }
        } catch {
          parsed = { ok: false, depth: 0 }
        }
        expect(r.ok).toBe(context === '' || (parsed.ok && parsed.depth <= MAX_CONTEXT_DEPTH))
        if (r.ok && context !== '') expect(reserializable(context)).toBe(true)
      }),
      runs(400),
    )
  })

  it('handles whatever random and mutated task messages decode to', () => {
    fc.assert(
      fc.property(
        fc.oneof(randomBytes, mutated(taskMessageArb.map((m) => TaskMessage.encode(m)))),
        (bytes) => {
          const r = attempt(() => TaskMessage.decode(bytes))
          if (r.ok) check(r.value, taskLimits.MAX_TASK_SIZE)
        },
      ),
      runs(500),
    )
  })
})

// ---- signed broadcasts and entries ----

let key: PrivateKey
let peer: PeerId
let author: Uint8Array
const NOW = 1_800_000_000_000

/** Real signed messages to mutate. */
const originals = { broadcasts: [] as Uint8Array[], entries: [] as Uint8Array[] }

beforeAll(async () => {
  key = await generateKeyPair('Ed25519')
  peer = peerIdFromPrivateKey(key)
  author = peer.toMultihash().bytes
  for (const [i, content] of ['the build is green', 'née ✓ 😀', 'x'.repeat(3000)].entries()) {
    originals.broadcasts.push(
      await createBroadcast(
        key,
        author,
        { topic: 'general', tags: i === 0 ? [] : ['a', `t${i}`], content },
        NOW - i,
      ),
    )
  }
  const sha = 'ab'.repeat(32)
  originals.entries.push(
    await createEntry(key, author, { ...ENTRY, sha256: sha }),
    await createEntry(key, author, {
      ...ENTRY,
      key: 'docs/ü.md',
      version: 7,
      base: 6,
      size: 0,
      sha256: '',
      mediaType: '',
      deleted: true,
    }),
    await createEntry(key, author, {
      ...ENTRY,
      key: 'x'.repeat(512),
      mediaType: 'text/plain; charset=utf-8',
      sha256: sha,
    }),
  )
})

const TOPIC_RE = /^[a-z0-9][a-z0-9._-]*$/
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const TAG_BAD = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069,]/

function broadcastAllowed(b: knowledge.BroadcastBody, now: number): boolean {
  return (
    b.topic.length >= 1 &&
    b.topic.length <= knowledgeLimits.MAX_TOPIC_LENGTH &&
    TOPIC_RE.test(b.topic) &&
    b.tags.length <= knowledgeLimits.MAX_TAGS &&
    new Set(b.tags).size === b.tags.length &&
    b.tags.every((t) => t.length >= 1 && t.length <= knowledgeLimits.MAX_TAG_LENGTH && !TAG_BAD.test(t)) &&
    b.content.trim() !== '' &&
    utf8(b.content) <= knowledgeLimits.MAX_CONTENT_SIZE &&
    // a lone surrogate goes out as bytes that are not UTF-8: refused, not turned into U+FFFD
    [b.topic, ...b.tags, b.content].every((s) => !LONE_SURROGATE.test(s)) &&
    b.time > 0n &&
    b.time <= BigInt(Number.MAX_SAFE_INTEGER) &&
    Number(b.time) <= now + knowledgeLimits.MAX_FUTURE_SKEW
  )
}

const broadcastInput = fc.record({
  topic: fc.oneof(
    fc.constantFrom('general', 'ci', 'a.b_c-d'),
    fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,10}$/),
  ),
  tags: fc.uniqueArray(fc.stringMatching(/^[a-z]{1,8}$/), { maxLength: 4 }),
  content: fc.string({ minLength: 1, maxLength: 200 }).filter((s) => s.trim() !== ''),
})

describe('openBroadcast (knowledge/broadcast.ts)', () => {
  const signed = fc
    .tuple(broadcastInput, u64(1n, BigInt(NOW)).map(Number))
    .map(([input, time]) => ({ input, time }))

  it('accepts real broadcasts unchanged, also chunked, and refuses every change that alters them', async () => {
    await fc.assert(
      fc.asyncProperty(
        signed,
        fc.array(fc.record({ op: fc.nat(), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }), {
          maxLength: 3,
        }),
        fc.array(fc.nat(), { maxLength: 3 }),
        async ({ input, time }, edits, cuts) => {
          const raw = await createBroadcast(key, author, input, time)
          const good = await openBroadcast(chunked(raw, cuts), NOW)
          expect(good.raw).toEqual(raw)
          expect(good.author).toBe(peer.toString())
          const bytes = Uint8Array.from(raw)
          for (const e of edits) bytes[e.at % bytes.length]! ^= e.mask
          const r = await attemptAsync(() => openBroadcast(bytes, NOW))
          // unchanged bytes pass; changed ones are refused, unless the change left the decoded body and
          // signature as they were (a tag's wire-type bits): then it is the original, kept canonical
          if (sameBytes(bytes, raw)) expect(r.ok).toBe(true)
          if (r.ok) expect(r.value).toEqual(good)
          else expect(r.error).toBeInstanceOf(InvalidBroadcastError)
        },
      ),
      runs(300),
    )
  })

  it('refuses random and mutated bytes unless they carry an original broadcast', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          randomBytes,
          mutated(fc.constantFrom(...originals.broadcasts)),
          mutated(messageArb(MESSAGES[5]!.schema).map((m) => knowledge.Broadcast.encode(m as never))),
        ),
        async (bytes) => {
          const r = await attemptAsync(() => openBroadcast(bytes, NOW))
          if (!r.ok) {
            expect(r.error).toBeInstanceOf(InvalidBroadcastError)
            return
          }
          // accepted: only bytes that still carry an original (say, with an unknown field appended),
          // and what is kept is the original's canonical encoding
          expect(originals.broadcasts.some((o) => sameBytes(o, r.value.raw))).toBe(true)
        },
      ),
      runs(500),
    )
    // as large as a broadcast may be, all of it nested groups: the decoder's stack overflows
    const groups = new Uint8Array(knowledgeLimits.MAX_BROADCAST_SIZE).fill((15 << 3) | 3)
    await expect(openBroadcast(groups, NOW)).rejects.toBeInstanceOf(InvalidBroadcastError)
  })

  it('validates the fields of correctly signed bodies', async () => {
    const bodyArb = nearValid<knowledge.BroadcastBody & { forged: boolean }>(
      fc.record({
        forged: fc.constant(false),
        author: fc.constant(new Uint8Array(0)),
        topic: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,63}$/),
        tags: fc.uniqueArray(
          fc.string({ minLength: 1, maxLength: 64 }).filter((t) => !t.includes(',')),
          { maxLength: 16 },
        ),
        content: fc.string({ minLength: 1, maxLength: 300 }).filter((c) => c.trim() !== ''),
        time: u64(1n, BigInt(NOW)),
        nonce: fc.uint8Array({ minLength: 8, maxLength: 8 }),
      }),
      {
        // signed by the key, but naming random bytes as the author
        forged: fc.constant(true),
        topic: fc.oneof(nastyString(70), fc.constantFrom('', 'General', '-a', '.a', 'a'.repeat(65))),
        tags: fc.oneof(
          fc.array(nastyString(70), { maxLength: 3 }),
          fc.constantFrom(
            ['a', 'a'],
            [''],
            ['a,b'],
            ['x'.repeat(65)],
            Array.from({ length: 17 }, (_, i) => `t${i}`),
          ),
        ),
        content: fc.oneof(
          nastyString(40),
          fc.constantFrom('', ' \n', 'x'.repeat(64 * 1024 + 1), '😀'.repeat(16 * 1024 + 1)),
        ),
        time: fc.oneof(
          U64,
          fc.constantFrom(0n, BigInt(NOW + 5 * 60_000), BigInt(NOW + 5 * 60_000 + 1), SAFE + 1n),
        ),
        nonce: fc.uint8Array({ maxLength: 16 }),
      },
    )
    await fc.assert(
      fc.asyncProperty(bodyArb, fc.uint8Array({ maxLength: 40 }), async ({ forged, ...b }, fake) => {
        const body = knowledge.BroadcastBody.encode({
          ...b,
          author: (forged ? fake : author) as Uint8Array<ArrayBuffer>,
        })
        const domain = new TextEncoder().encode(knowledgeLimits.SIGNING_DOMAIN)
        const signature = await key.sign(Uint8Array.from([...domain, ...body]))
        const raw = knowledge.Broadcast.encode({ body, signature: signature as Uint8Array<ArrayBuffer> })
        const r = await attemptAsync(() => openBroadcast(raw, NOW))
        if (!r.ok) expect(r.error).toBeInstanceOf(InvalidBroadcastError)
        const decoded = knowledge.BroadcastBody.decode(body)
        const allowed =
          !forged && raw.byteLength <= knowledgeLimits.MAX_BROADCAST_SIZE && broadcastAllowed(decoded, NOW)
        expect(r.ok).toBe(allowed)
      }),
      runs(300),
    )
  })
})

const ENTRY = {
  key: 'reports/q3.md',
  version: 3,
  base: 2,
  time: NOW - 1000,
  size: 2048,
  sha256: '',
  mediaType: 'text/markdown',
  deleted: false,
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const KEY_CONTROL = /[\u0000-\u001f\u007f]/
const MEDIA_RE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(;.*)?$/i
/** A lone surrogate: such a key cannot be stored as UTF-8 without turning into another key. */
const LONE_SURROGATE = /\p{Cs}/u

function entryAllowed(b: files.EntryBody, maxFileSize: number, now: number): boolean {
  const safe = (v: number) => Number.isSafeInteger(v) && v >= 0
  const keyOk =
    b.key.length > 0 &&
    utf8(b.key) <= filesLimits.MAX_KEY_BYTES &&
    !b.key.startsWith('/') &&
    !KEY_CONTROL.test(b.key) &&
    !LONE_SURROGATE.test(b.key) &&
    !b.key.split('/').includes('..')
  const mediaOk =
    b.mediaType === '' ||
    (b.mediaType.length <= filesLimits.MAX_MEDIA_TYPE_LENGTH &&
      MEDIA_RE.test(b.mediaType) &&
      !KEY_CONTROL.test(b.mediaType))
  return (
    keyOk &&
    mediaOk &&
    [b.version, b.base, b.time, b.size].every(safe) &&
    b.version >= 1 &&
    b.base < b.version &&
    b.time <= now + filesLimits.MAX_FUTURE_SKEW &&
    b.size <= maxFileSize &&
    (b.deleted ? b.sha256.length === 0 && b.size === 0 : b.sha256.length === 32)
  )
}

describe('openEntry (files/entry.ts)', () => {
  const MAX_FILE = 1024 * 1024

  it('accepts real entries unchanged, also chunked, and refuses every change that alters them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 1, 2),
        fc.array(fc.record({ at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }), { maxLength: 3 }),
        fc.array(fc.nat(), { maxLength: 3 }),
        async (i, edits, cuts) => {
          const raw = originals.entries[i]!
          const good = await openEntry(chunked(raw, cuts), MAX_FILE, NOW)
          expect(good.raw).toEqual(raw)
          expect(good.author).toBe(peer.toString())
          const bytes = Uint8Array.from(raw)
          for (const e of edits) bytes[e.at % bytes.length]! ^= e.mask
          const r = await attemptAsync(() => openEntry(bytes, MAX_FILE, NOW))
          if (sameBytes(bytes, raw)) expect(r.ok).toBe(true)
          if (r.ok) expect(r.value).toEqual(good)
          else expect(r.error).toBeInstanceOf(InvalidEntryError)
        },
      ),
      runs(300),
    )
  })

  it('refuses random and mutated bytes unless they carry an original entry', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          randomBytes,
          mutated(fc.constantFrom(...originals.entries)),
          mutated(messageArb(MESSAGES[9]!.schema).map((m) => files.Entry.encode(m as never))),
        ),
        async (bytes) => {
          const r = await attemptAsync(() => openEntry(bytes, MAX_FILE, NOW))
          if (!r.ok) {
            expect(r.error).toBeInstanceOf(InvalidEntryError)
            return
          }
          expect(originals.entries.some((o) => sameBytes(o, r.value.raw))).toBe(true)
        },
      ),
      runs(500),
    )
    const groups = new Uint8Array(filesLimits.MAX_ENTRY_SIZE).fill((15 << 3) | 3)
    await expect(openEntry(groups, MAX_FILE, NOW)).rejects.toBeInstanceOf(InvalidEntryError)
  })

  it('validates the fields of correctly signed bodies', async () => {
    const sha = fc.uint8Array({ minLength: 32, maxLength: 32 })
    const live = fc
      .tuple(
        U53.filter((v) => v >= 1),
        fc.nat(),
        sha,
        fc.boolean(),
      )
      .map(([version, b, sha256, deleted]) => ({
        version,
        base: b % version,
        sha256: deleted ? new Uint8Array(0) : sha256,
        size: deleted ? 0 : b % (MAX_FILE + 1),
        deleted,
      }))
    const bodyArb = nearValid<files.EntryBody & { forged: boolean }>(
      fc
        .record({
          forged: fc.constant(false),
          author: fc.constant(new Uint8Array(0)),
          key: fc
            .stringMatching(/^[a-zA-Z0-9._ -]{1,8}(\/[a-zA-Z0-9._ é-]{1,8}){0,3}$/)
            .filter((k) => !k.split('/').includes('..')),
          time: fc.integer({ min: 0, max: NOW }),
          mediaType: fc.constantFrom('', 'text/plain', 'text/plain; charset=utf-8', 'application/vnd.a+json'),
        })
        .chain((v) => live.map((l) => ({ ...v, ...l }))),
      {
        forged: fc.constant(true),
        key: fc.oneof(
          nastyString(40),
          fc.constantFrom(
            '',
            '/a',
            'a/../b',
            '..',
            'a\u0000',
            'a\nb',
            '\ud800',
            'a/\udc00',
            'k'.repeat(513),
            'é'.repeat(257),
          ),
        ),
        // numbers from 2^53 up cannot be written by the JS_NUMBER encoder (a unit test crafts them)
        version: fc.oneof(U53, fc.constantFrom(0, Number.MAX_SAFE_INTEGER)),
        base: fc.oneof(U53, fc.constantFrom(Number.MAX_SAFE_INTEGER)),
        time: fc.oneof(U53, fc.constantFrom(NOW + 5 * 60_000, NOW + 5 * 60_000 + 1)),
        size: fc.oneof(U53, fc.constantFrom(MAX_FILE, MAX_FILE + 1)),
        sha256: fc.uint8Array({ maxLength: 40 }),
        mediaType: fc.oneof(
          nastyString(40),
          fc.constantFrom('text', 'a/b;\u0000', `a/${'b'.repeat(127)}`, 'a/b c'),
        ),
        deleted: fc.boolean(),
      },
    )
    await fc.assert(
      fc.asyncProperty(bodyArb, fc.uint8Array({ maxLength: 40 }), async ({ forged, ...b }, fake) => {
        const body = files.EntryBody.encode({
          ...b,
          author: (forged ? fake : author) as Uint8Array<ArrayBuffer>,
        })
        const domain = new TextEncoder().encode(filesLimits.SIGNING_DOMAIN)
        const signature = await key.sign(Uint8Array.from([...domain, ...body]))
        const raw = files.Entry.encode({ body, signature: signature as Uint8Array<ArrayBuffer> })
        const r = await attemptAsync(() => openEntry(raw, MAX_FILE, NOW))
        if (!r.ok) expect(r.error).toBeInstanceOf(InvalidEntryError)
        const decoded = files.EntryBody.decode(body)
        const allowed =
          !forged && raw.byteLength <= filesLimits.MAX_ENTRY_SIZE && entryAllowed(decoded, MAX_FILE, NOW)
        expect(r.ok).toBe(allowed)
      }),
      runs(400),
    )
  })
})

// ---- the CLI's argument parser ----

describe('parseArgs and parseDuration (cli/args.ts)', () => {
  const names = COMMANDS.map((c) => c.name)
  const flags = [
    ...new Set([...Object.keys(GLOBAL_OPTIONS), ...COMMANDS.flatMap((c) => Object.keys(c.options))]),
  ]
  const token = fc.oneof(
    fc.constantFrom(...names),
    fc.constantFrom(...flags).map((f) => `--${f}`),
    fc.tuple(fc.constantFrom(...flags), nastyString(12)).map(([f, v]) => `--${f}=${v}`),
    fc.constantFrom('-h', '-V', '-', '--', '---', '--=', '-5', '-0.5', '1e309', '1', '0', '65536', 'NaN', ''),
    fc.constantFrom('--constructor', '--__proto__', '--toString', 'constructor', '__proto__', '-x'),
    nastyString(20),
    nastyString(20).map((s) => `--${s}`),
  )

  const specsOf = (command: string) => findCommand(command)?.options

  it('parseArgs returns options the specs declare, or throws a UsageError', () => {
    fc.assert(
      fc.property(fc.array(token, { maxLength: 10 }), (argv) => {
        const r = attempt(() => parseArgs(argv, GLOBAL_OPTIONS, specsOf))
        if (!r.ok) {
          expect(r.error).toBeInstanceOf(UsageError)
          return
        }
        const p = r.value
        if (p.command != null) expect(names).toContain(p.command)
        const specs: OptionSpecs = { ...GLOBAL_OPTIONS, ...(p.command != null ? specsOf(p.command) : {}) }
        for (const [name, value] of Object.entries(p.options)) {
          expect(Object.hasOwn(specs, name)).toBe(true)
          const spec = specs[name]!
          const values = spec.multiple === true ? (value as unknown[]) : [value]
          if (spec.multiple === true) expect(Array.isArray(value)).toBe(true)
          for (const v of values) {
            if (spec.type === 'boolean') expect(v).toBe(true)
            else if (spec.type === 'number') {
              expect(Number.isFinite(v)).toBe(true)
              if (spec.min != null) expect(v as number).toBeGreaterThanOrEqual(spec.min)
              if (spec.max != null) expect(v as number).toBeLessThanOrEqual(spec.max)
            } else expect(typeof v).toBe('string')
          }
        }
        expect(p.positionals.every((x) => typeof x === 'string')).toBe(true)
      }),
      runs(1000),
    )
  })

  it('parseDuration returns 1 ms to 365 days, or throws a UsageError', () => {
    const raw = fc.oneof(
      nastyString(20),
      fc
        .tuple(
          fc.oneof(
            fc.nat().map(String),
            fc.double({ min: 0, max: 1e12, noNaN: true }).map(String),
            fc.constantFrom('0', '0.4', '1e3', '9'.repeat(400)),
          ),
          fc.constantFrom('', 'ms', 's', 'm', 'h', 'd', 'w', 'S', ' s'),
          fc.constantFrom('', ' ', '\n'),
        )
        .map(([n, unit, pad]) => `${pad}${n}${unit}${pad}`),
    )
    fc.assert(
      fc.property(raw, (text) => {
        const r = attempt(() => parseDuration(text, '--ttl'))
        if (!r.ok) {
          expect(r.error).toBeInstanceOf(UsageError)
          return
        }
        expect(Number.isSafeInteger(r.value)).toBe(true)
        expect(r.value).toBeGreaterThanOrEqual(1)
        expect(r.value).toBeLessThanOrEqual(365 * 86_400_000)
        const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim())
        expect(m).not.toBeNull()
      }),
      runs(1000),
    )
  })
})

// ---- strings: carried intact or refused ----

/** Text an agent may send: any Unicode scalar values, NUL and other control characters included. */
const anyText = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 80 }),
    nastyString(60),
    fc.constantFrom('keep\u0000secret', '\u0000', '\ufeffbom', '😀\u0000😀', 'x\u0000'.repeat(300)),
  )
  .filter((t) => t.trim() !== '' && !LONE_SURROGATE.test(t))

/** Byte runs protons' own decoder turns into other text: overlong NUL and '/', an encoded surrogate, a cut sequence, a stray byte. */
const NOT_UTF8 = [[0xc0, 0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xff]]

/** `encoded` with the bytes of `marker` replaced by `bad` (same length, so lengths stay right). */
/**
 * `encoded` with the marker inside the string field `field` replaced by `bad`. The field's whole text
 * is searched for, not the marker alone: a one-byte marker also turns up in random key bytes.
 */
function patched(encoded: Uint8Array, field: string, marker: string, bad: number[]): Uint8Array<ArrayBuffer> {
  const start = Buffer.from(encoded).indexOf(field)
  const inField = Buffer.byteLength(field.slice(0, field.indexOf(marker)))
  if (start < 0 || !field.includes(marker) || marker.length !== bad.length)
    throw new Error(`no ${marker} in ${field} to patch`)
  const out = Uint8Array.from(encoded)
  out.set(bad, start + inField)
  return out
}

async function signedWith(domain: string, body: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return (await key.sign(
    Uint8Array.from([...new TextEncoder().encode(domain), ...body]),
  )) as Uint8Array<ArrayBuffer>
}

describe('strings on the wire: carried intact or refused', () => {
  it.each(NOT_UTF8.map((b) => [Buffer.from(b).toString('hex'), b] as const))(
    'a string field holding %s (not UTF-8) is refused by every decoder, not read as other text',
    async (_hex, bad) => {
      const mark = 'Z'.repeat(bad.length)
      const task = patched(
        TaskMessage.encode({
          kind: TaskMessage.Kind.DELEGATE,
          msgId: 'm1',
          taskId: 't1',
          task: `keep${mark}secret`,
          context: '',
          priority: TaskMessage.Priority.NORMAL,
          state: TaskMessage.State.WORKING,
          result: '',
          reason: '',
          createdAt: 1n,
          expiresAt: BigInt(NOW),
        }),
        `keep${mark}secret`,
        mark,
        bad,
      )
      // protons alone would hand over some other text (an overlong NUL becomes a real NUL)
      expect(() => TaskMessage.decode(task)).not.toThrow()
      expect(() => decodeStrict(TaskMessage, task)).toThrow(InvalidTextError)

      const card = patched(
        PresenceMessage.encode({
          type: PresenceMessage.Type.ANNOUNCE,
          card: {
            name: 'alice',
            caps: [],
            description: `about ${mark}`,
            machine: '',
            version: '',
            startedAt: 1n,
            load: 0,
            addrs: [],
            relayOnly: false,
          },
        }),
        `about ${mark}`,
        mark,
        bad,
      )
      expect(() => decodeStrict(PresenceMessage, card)).toThrow(/not valid UTF-8/)

      const bBody = patched(
        knowledge.BroadcastBody.encode({
          author: author as Uint8Array<ArrayBuffer>,
          topic: 'general',
          tags: [],
          content: `news ${mark}`,
          time: BigInt(NOW),
          nonce: new Uint8Array(8),
        }),
        `news ${mark}`,
        mark,
        bad,
      )
      const broadcast = knowledge.Broadcast.encode({
        body: bBody,
        signature: await signedWith(knowledgeLimits.SIGNING_DOMAIN, bBody),
      })
      await expect(openBroadcast(broadcast, NOW)).rejects.toThrow(/not valid UTF-8/)
      await expect(openBroadcast(broadcast, NOW)).rejects.toBeInstanceOf(InvalidBroadcastError)

      const eBody = patched(
        files.EntryBody.encode({
          key: `r${mark}etc/passwd`,
          version: 1,
          base: 0,
          author: author as Uint8Array<ArrayBuffer>,
          time: NOW,
          size: 1,
          sha256: new Uint8Array(32),
          mediaType: '',
          deleted: false,
        }),
        `r${mark}etc/passwd`,
        mark,
        bad,
      )
      const entry = files.Entry.encode({
        body: eBody,
        signature: await signedWith(filesLimits.SIGNING_DOMAIN, eBody),
      })
      await expect(openEntry(entry, 1024)).rejects.toThrow(/not valid UTF-8/)
      await expect(openEntry(entry, 1024)).rejects.toBeInstanceOf(InvalidEntryError)
    },
  )

  it('any text the API accepts comes back byte-identical after store, wire and store', async () => {
    const MAX = taskLimits.MAX_TASK_SIZE
    const sender = new TaskStore({
      db: new Store(':memory:').db,
      onEvent: () => {},
    })
    const receiver = new TaskStore({
      db: new Store(':memory:').db,
      onEvent: () => {},
    })
    const kStore = new KnowledgeStore(new Store(':memory:').db)
    /** The one due message for `taskId`, through the wire's strict decoder and the protocol's checks. */
    const wire = (from: TaskStore, taskId: string): TaskMessage => {
      const out = from.due(1000).find((m) => m.taskId === taskId)!
      from.acked(out)
      const msg = decodeStrict(TaskMessage, out.payload)
      validateMessage(msg, MAX)
      return msg
    }
    await fc.assert(
      fc.asyncProperty(anyText, anyText, anyText, async (task, result, content) => {
        const row = sender.delegate({
          peer: 'b',
          peerName: 'b',
          task,
          context: null,
          priority: 'normal',
          ttl: 3_600_000,
        })
        expect(sender.get('sent', 'b', row.id)!.task).toBe(task)
        const stored = receiver.receiveDelegate('a', 'a', wire(sender, row.id), 1_000_000)
        expect(stored.status).toBe('stored')
        const got = receiver.get('received', 'a', row.id)!
        expect(got.task).toBe(task)
        receiver.respond(got, 'completed', result)
        expect(receiver.get('received', 'a', row.id)!.result).toBe(result)
        expect(sender.receiveNotice('b', wire(receiver, row.id)).status).toBe('stored')
        expect(sender.get('sent', 'b', row.id)!.result).toBe(result)

        if (Buffer.byteLength(content) > knowledgeLimits.MAX_CONTENT_SIZE) return
        const b = await openBroadcast(
          await createBroadcast(key, author, { topic: 'general', tags: [], content }, NOW),
          NOW,
        )
        expect(b.content).toBe(content)
        kStore.put(b)
        expect(kStore.list({ limit: 1000 }).find((x) => x.id === b.id)?.content).toBe(content)
      }),
      runs(150),
    )
  })
})

// ---- a known upstream bug ----

describe('protons-runtime uint64 encoding (canary for an upstream bug)', () => {
  // Expected to fail today: bigint uint64 values from 2^31 to 2^32 - 1 encode to bytes that do not decode
  // back. When protons-runtime is fixed this test fails: then make it a plain `it` and drop LONGBITS_BUG.
  it.fails('round-trips bigint uint64 values from 2^31 to 2^32 - 1', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: LONGBITS_BUG.from, max: LONGBITS_BUG.to - 1n }), (seq) => {
        const msg = { type: PresenceMessage.Type.ANNOUNCE, seq }
        expect(PresenceMessage.decode(PresenceMessage.encode(msg)).seq).toBe(seq)
      }),
      runs(50),
    )
  })

  // the file protocol reads its uint64 fields as numbers (jstype = JS_NUMBER), a writer without the bug
  it('round-trips file sizes, offsets and versions from 2^31 to 2^32 - 1 and up to 2^53 - 1', () => {
    fc.assert(
      fc.property(U53, (n) => {
        expect(files.BlobHeader.decode(files.BlobHeader.encode({ found: true, size: n })).size).toBe(n)
        const req = { sha256: new Uint8Array(0), offset: n, length: 1 }
        expect(files.BlobRequest.decode(files.BlobRequest.encode(req)).offset).toBe(n)
      }),
      runs(300),
    )
  })
})
