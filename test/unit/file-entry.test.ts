import { createHash } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Uint8ArrayList } from 'uint8arraylist'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  MAX_ENTRY_SIZE,
  MAX_FUTURE_SKEW,
  MAX_KEY_BYTES,
  MAX_VERSION_LEAD,
  MAX_VERSION_STEP,
  SIGNING_DOMAIN,
} from '../../src/protocols/files/constants.js'
import {
  checkVersionStep,
  createEntry,
  type EntryFields,
  entryId,
  openEntry,
  validateHostedEditor,
  validateKey,
  validateMediaType,
} from '../../src/protocols/files/entry.js'
import { FileError, InvalidEntryError, VersionJumpError } from '../../src/protocols/files/errors.js'
import { stateOf } from '../../src/protocols/files/file-store.js'
import { Entry, EntryBody } from '../../src/protocols/files/pb/files.js'
import { hasReservedMediaParam } from '../../src/rules/limits.js'

const NOW = 1_750_000_000_000
const MAX = 1024 * 1024
const SHA = createHash('sha256').update('hello').digest('hex')

interface Author {
  key: PrivateKey
  peerId: PeerId
  bytes: Uint8Array
}

let alice: Author
let bob: Author

async function author(): Promise<Author> {
  const key = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(key)
  return { key, peerId, bytes: peerId.toMultihash().bytes }
}

beforeAll(async () => {
  alice = await author()
  bob = await author()
})

function fields(over: Partial<EntryFields> = {}): EntryFields {
  return {
    key: 'reports/q3.md',
    version: 3,
    base: 2,
    time: NOW - 1000,
    size: 5,
    sha256: SHA,
    mediaType: 'text/markdown',
    deleted: false,
    ...over,
  }
}

function make(over: Partial<EntryFields> = {}, by: Author = alice): Promise<Uint8Array> {
  return createEntry(by.key, by.bytes, fields(over))
}

/** The InvalidEntryError message openEntry rejects with; fails the test on any other outcome. */
async function rejection(raw: Uint8Array, maxFileSize = MAX, now = NOW): Promise<string> {
  const err = await openEntry(raw, maxFileSize, now).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(InvalidEntryError)
  return (err as Error).message
}

/** The protobuf base-128 varint of `v`, computed independently of protons. */
function varint(v: bigint): number[] {
  const out: number[] = []
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80)
    v >>= 7n
  }
  out.push(Number(v))
  return out
}

/** Re-encodes an entry with its body changed by `edit`, keeping the original signature. */
function tamper(raw: Uint8Array, edit: (body: EntryBody) => EntryBody): Uint8Array {
  const msg = Entry.decode(raw)
  const body = EntryBody.encode(edit(EntryBody.decode(msg.body)))
  return Entry.encode({ body, signature: msg.signature })
}

/** Signs an arbitrary body (as `author` claims) with `signer`'s key. */
async function signBody(body: EntryBody, signer: Author): Promise<Uint8Array> {
  const bodyBytes = EntryBody.encode(body)
  const domain = new TextEncoder().encode(SIGNING_DOMAIN)
  const signature = await signer.key.sign(new Uint8Array([...domain, ...bodyBytes]))
  return Entry.encode({ body: bodyBytes, signature: signature as Uint8Array<ArrayBuffer> })
}

describe('createEntry / openEntry', () => {
  it('round-trips every field, with the author and an id from the signed body', async () => {
    const f = fields()
    const raw = await createEntry(alice.key, alice.bytes, f)
    const e = await openEntry(raw, MAX, NOW)
    expect(e).toEqual({
      ...f,
      id: createHash('sha256').update(Entry.decode(raw).body).digest('hex').slice(0, 32),
      author: alice.peerId.toString(),
      raw,
    })
    expect(e.id).toMatch(/^[0-9a-f]{32}$/)
    expect(e.id).toBe(entryId(Entry.decode(raw).body))
    // the raw bytes are kept exactly, in a copy of their own
    expect(e.raw).not.toBe(raw)
    expect(Buffer.from(e.raw).equals(Buffer.from(raw))).toBe(true)
  })

  it('accepts the entry as a Uint8ArrayList too', async () => {
    const raw = await make()
    const list = new Uint8ArrayList(raw.subarray(0, 10), raw.subarray(10))
    const e = await openEntry(list, MAX, NOW)
    expect(e.key).toBe('reports/q3.md')
    expect(Buffer.from(e.raw).equals(Buffer.from(raw))).toBe(true)
  })

  it('gives different entries different ids, and the same body the same id', async () => {
    const a = await openEntry(await make(), MAX, NOW)
    const b = await openEntry(await make({ time: NOW - 999 }), MAX, NOW)
    const c = await openEntry(await make(), MAX, NOW)
    expect(a.id).not.toBe(b.id)
    expect(a.id).toBe(c.id)
  })

  it('round-trips a deletion (no hash, size 0, no media type)', async () => {
    const f = fields({ deleted: true, sha256: '', size: 0, mediaType: '' })
    const e = await openEntry(await createEntry(bob.key, bob.bytes, f), MAX, NOW)
    expect(e).toMatchObject({ ...f, author: bob.peerId.toString() })
    expect(e.deleted).toBe(true)
    expect(e.sha256).toBe('')
  })

  it('round-trips sizes and times beyond 32 bits', async () => {
    const f = fields({ time: NOW, size: 2 ** 33 })
    const e = await openEntry(await make(f), 2 ** 34, NOW)
    expect(e).toMatchObject({ time: NOW, size: 2 ** 33 })
  })

  it('round-trips versions and sizes around 2^31, 2^32 and 2^53 - 1 exactly, as standard protobuf varints', async () => {
    // protons-runtime's bigint uint64 writer mis-encodes 2^31 .. 2^32 - 1; every value must survive
    const values = [
      2 ** 31 - 2,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 31 + 1,
      2 ** 32 - 1,
      2 ** 32,
      2 ** 32 + 1,
      2 ** 40 + 3,
      Number.MAX_SAFE_INTEGER - 1,
      Number.MAX_SAFE_INTEGER,
    ]
    for (const v of values) {
      const f = fields({ version: v, base: v - 1, time: NOW, size: v })
      const raw = await make(f)
      const e = await openEntry(raw, Number.MAX_SAFE_INTEGER, NOW)
      expect(e).toMatchObject({ version: v, base: v - 1, size: v })
      // the bytes are what any protobuf implementation writes (so older entries keep their bytes)
      const body = Buffer.from(Entry.decode(raw).body)
      expect(body.includes(Buffer.from([0x10, ...varint(BigInt(v))]))).toBe(true)
      expect(body.includes(Buffer.from([0x18, ...varint(BigInt(v - 1))]))).toBe(true)
      expect(body.includes(Buffer.from([0x30, ...varint(BigInt(v))]))).toBe(true)
    }
  })

  it('refuses to create an entry whose numbers are not exact non-negative integers', async () => {
    for (const bad of [Number.MAX_SAFE_INTEGER + 1, -1, 1.5, Number.NaN]) {
      await expect(make({ version: bad, base: 0 })).rejects.toThrow(FileError)
      await expect(make({ size: bad })).rejects.toThrow(FileError)
    }
  })

  describe('rejects tampering', () => {
    it('a body field changed under the original signature', async () => {
      const raw = await make()
      // the untouched re-encoding still opens, so the edits below are what breaks it
      await expect(
        openEntry(
          tamper(raw, (b) => b),
          MAX,
          NOW,
        ),
      ).resolves.toBeDefined()
      for (const edit of [
        (b: EntryBody) => ({ ...b, version: b.version + 1 }),
        (b: EntryBody) => ({ ...b, key: 'reports/q4.md' }),
        (b: EntryBody) => ({ ...b, size: 6 }),
        (b: EntryBody) => ({ ...b, sha256: new Uint8Array(32) }),
        (b: EntryBody) => ({ ...b, deleted: true, sha256: new Uint8Array(0), size: 0 }),
      ]) {
        expect(await rejection(tamper(raw, edit))).toMatch(/signature does not match/)
      }
    })

    it('a flipped bit in the signature', async () => {
      const raw = await make()
      const msg = Entry.decode(raw)
      for (const i of [0, 31, msg.signature.length - 1]) {
        const sig = Uint8Array.from(msg.signature)
        sig[i]! ^= 0x01
        const bad = Entry.encode({ body: msg.body, signature: sig })
        expect(await rejection(bad)).toMatch(/signature|author/)
      }
    })

    it('a truncated or missing signature', async () => {
      const msg = Entry.decode(await make())
      await rejection(Entry.encode({ body: msg.body, signature: msg.signature.subarray(0, 32) }))
      await rejection(Entry.encode({ body: msg.body, signature: new Uint8Array(0) }))
    })

    it("the author swapped for another peer's id", async () => {
      const raw = await make()
      const bad = tamper(raw, (b) => ({ ...b, author: bob.bytes as Uint8Array<ArrayBuffer> }))
      expect(await rejection(bad)).toMatch(/signature does not match/)
    })

    it('an entry claiming one author but signed by another key', async () => {
      const body = EntryBody.decode(Entry.decode(await make()).body)
      // signed by its own author it opens; by bob it does not
      await expect(openEntry(await signBody(body, alice), MAX, NOW)).resolves.toBeDefined()
      expect(await rejection(await signBody(body, bob))).toMatch(/signature does not match/)
    })

    it('a signature over the body without the signing domain', async () => {
      const msg = Entry.decode(await make())
      const signature = await alice.key.sign(msg.body)
      const bad = Entry.encode({ body: msg.body, signature: signature as Uint8Array<ArrayBuffer> })
      expect(await rejection(bad)).toMatch(/signature/)
    })

    it('an author that is not a usable peer id', async () => {
      const raw = await make()
      for (const author of [new Uint8Array(0), new Uint8Array([1, 2, 3]), new Uint8Array(34)]) {
        expect(await rejection(tamper(raw, (b) => ({ ...b, author })))).toMatch(/unusable author/)
      }
    })
  })

  it('rejects malformed bytes', async () => {
    for (const bytes of [
      new Uint8Array([0xff, 0xff, 0xff]),
      new Uint8Array([0x0a, 0x7f]), // a body field claiming 127 bytes, with none
      Buffer.from('not a protobuf at all, just text'),
      new Uint8Array(0),
    ]) {
      await rejection(bytes)
    }
  })

  it('rejects an entry over MAX_ENTRY_SIZE before looking inside', async () => {
    // a properly signed entry made large with a long key (createEntry does not check keys)
    const raw = await make({ key: `big/${'x'.repeat(MAX_ENTRY_SIZE)}` })
    expect(raw.byteLength).toBeGreaterThan(MAX_ENTRY_SIZE)
    expect(await rejection(raw)).toMatch(new RegExp(`entry of ${raw.byteLength} bytes`))
    expect(await rejection(new Uint8Array(MAX_ENTRY_SIZE + 1))).toMatch(/entry of \d+ bytes/)
  })

  it('rejects a key that is not valid, even though signed', async () => {
    for (const key of ['', '/abs', 'a/../b', 'x\u0000y']) {
      expect(await rejection(await make({ key }))).toMatch(/invalid key/)
    }
  })

  it('rejects an invalid media type, even though signed', async () => {
    expect(await rejection(await make({ mediaType: 'nope' }))).toMatch(/media type/)
    expect(await rejection(await make({ mediaType: 'text/plain; x=\u001b[2J' }))).toMatch(/media type/)
  })

  it('rejects a version not above its base', async () => {
    for (const [version, base] of [
      [2, 2],
      [2, 3],
      [0, 0],
    ] as const) {
      expect(await rejection(await make({ version, base }))).toMatch(/version must be above base/)
    }
    // version 1 on base 0 is the first write
    await expect(openEntry(await make({ version: 1, base: 0 }), MAX, NOW)).resolves.toBeDefined()
  })

  it('rejects numbers beyond the safe integer range', async () => {
    // no encoder here writes such numbers: append the field again (the last one wins) and sign that
    const body = Entry.decode(await make()).body
    const signed = async (tag: number, v: bigint) => {
      const bytes = Uint8Array.from([...body, tag, ...varint(v)])
      const domain = new TextEncoder().encode(SIGNING_DOMAIN)
      const signature = await alice.key.sign(Uint8Array.from([...domain, ...bytes]))
      return Entry.encode({ body: bytes, signature: signature as Uint8Array<ArrayBuffer> })
    }
    for (const big of [2n ** 53n, 2n ** 53n + 1n, 2n ** 56n, 2n ** 64n - 1n]) {
      for (const tag of [0x10, 0x18, 0x28, 0x30]) {
        expect(await rejection(await signed(tag, big), Number.MAX_SAFE_INTEGER)).toMatch(
          /out of range|malformed/,
        )
      }
    }
    // 2^53 - 1 itself is fine
    const max = await openEntry(await signed(0x10, 2n ** 53n - 1n), MAX, NOW)
    expect(max.version).toBe(Number.MAX_SAFE_INTEGER)
  })

  it('rejects an entry from more than 5 minutes in the future', async () => {
    const ok = await make({ time: NOW + MAX_FUTURE_SKEW })
    await expect(openEntry(ok, MAX, NOW)).resolves.toMatchObject({ time: NOW + MAX_FUTURE_SKEW })
    const late = await make({ time: NOW + MAX_FUTURE_SKEW + 1 })
    expect(await rejection(late)).toMatch(/future/)
    // the same entry is fine once the clock has caught up
    await expect(openEntry(late, MAX, NOW + 1)).resolves.toBeDefined()
    // an old entry is fine
    await expect(openEntry(await make({ time: 0 }), MAX, NOW)).resolves.toBeDefined()
  })

  it("rejects a file over this node's size limit", async () => {
    const raw = await make({ size: 1000 })
    await expect(openEntry(raw, 1000, NOW)).resolves.toMatchObject({ size: 1000 })
    expect(await rejection(raw, 999)).toMatch(/over this node's limit of 999/)
  })

  it('rejects a non-deleted entry whose hash is not 32 bytes', async () => {
    for (const sha256 of ['', SHA.slice(0, 62), `${SHA}00`, 'ab']) {
      expect(await rejection(await make({ sha256 }))).toMatch(/hash must be 32 bytes/)
    }
  })

  it('rejects a deletion that carries content', async () => {
    const del = { deleted: true, mediaType: '' }
    expect(await rejection(await make({ ...del, sha256: SHA, size: 0 }))).toMatch(
      /deletion carries no content/,
    )
    expect(await rejection(await make({ ...del, sha256: '', size: 1 }))).toMatch(
      /deletion carries no content/,
    )
    expect(await rejection(await make({ ...del, sha256: SHA, size: 5 }))).toMatch(
      /deletion carries no content/,
    )
  })
})

describe('checkVersionStep', () => {
  const step =
    (version: number, highest: number, now = NOW) =>
    () =>
      checkVersionStep({ key: 'k', version }, highest, now)

  it('allows up to one step above the higher of the highest version seen and the clock in ms', () => {
    expect(step(NOW + MAX_VERSION_STEP, 0)).not.toThrow()
    expect(step(NOW + MAX_VERSION_STEP + 1, 0)).toThrow(VersionJumpError)
    const high = NOW + 5 * MAX_VERSION_STEP
    expect(step(high + MAX_VERSION_STEP, high)).not.toThrow()
    expect(step(high + MAX_VERSION_STEP + 1, high)).toThrow(/more than 1048576 above what this node has seen/)
    // an honest next write (highest + 1) always passes, below and above the clock
    for (const h of [0, 7, 2 ** 31 - 2, NOW + 3 * MAX_VERSION_STEP]) expect(step(h + 1, h)).not.toThrow()
  })

  it('never more than MAX_VERSION_LEAD above the clock, however high the key already is', () => {
    const high = NOW + MAX_VERSION_LEAD - 10
    expect(step(NOW + MAX_VERSION_LEAD, high)).not.toThrow()
    expect(step(NOW + MAX_VERSION_LEAD + 1, high)).toThrow(/above this node's clock/)
    expect(step(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 1)).toThrow(VersionJumpError)
  })
})

describe('validateKey', () => {
  const code = (key: string): string | undefined => {
    try {
      validateKey(key)
      return undefined
    } catch (err) {
      expect(err).toBeInstanceOf(FileError)
      return (err as FileError).code
    }
  }

  it('accepts path-like keys', () => {
    for (const key of [
      'reports/q3.md',
      'a/b/c.txt',
      'ünï/cödé.md',
      'a',
      'x/./y',
      'a..b/c..',
      '.hidden',
      'a b',
    ]) {
      expect(code(key), key).toBeUndefined()
    }
  })

  it('accepts a key of exactly 512 UTF-8 bytes', () => {
    const ascii = 'k'.repeat(MAX_KEY_BYTES)
    const twoByte = 'é'.repeat(MAX_KEY_BYTES / 2) // 256 characters, 512 bytes
    const threeByte = `${'€'.repeat(170)}ab` // 172 characters, 512 bytes
    for (const key of [ascii, twoByte, threeByte]) {
      expect(Buffer.byteLength(key, 'utf8')).toBe(512)
      expect(code(key)).toBeUndefined()
    }
  })

  it('rejects a key of 513 UTF-8 bytes, counting multi-byte characters', () => {
    const ascii = 'k'.repeat(MAX_KEY_BYTES + 1)
    const twoByte = `a${'é'.repeat(256)}` // 257 characters, 513 bytes
    const fourByte = `${'😀'.repeat(128)}a` // 257 UTF-16 units, 513 bytes
    for (const key of [ascii, twoByte, fourByte]) {
      expect(Buffer.byteLength(key, 'utf8')).toBe(513)
      expect(code(key)).toBe('invalid_key')
    }
    // a limit counted in characters (UTF-16 units) would have let these two through
    expect(twoByte.length).toBeLessThan(MAX_KEY_BYTES)
    expect(fourByte.length).toBeLessThan(MAX_KEY_BYTES)
  })

  it('rejects empty, absolute, traversing and control-character keys', () => {
    for (const key of [
      '',
      '/abs',
      '/',
      'a/../b',
      '..',
      '../x',
      'x/..',
      'x\u0000y',
      'tab\there',
      'line\nbreak',
      'esc\u001b[31m',
      'del\u007f',
    ]) {
      expect(code(key), JSON.stringify(key)).toBe('invalid_key')
    }
  })

  it('says why in the message', () => {
    expect(() => validateKey('a/../b')).toThrow(/'\.\.' segment/)
    expect(() => validateKey('/abs')).toThrow(/starts with '\/'/)
    expect(() => validateKey('')).toThrow(/empty/)
    expect(() => validateKey('k'.repeat(600))).toThrow(/longer than 512 bytes/)
  })
})

describe('validateMediaType', () => {
  it('accepts media types with or without parameters', () => {
    for (const t of [
      'text/markdown',
      'application/json; charset=utf-8',
      'application/octet-stream',
      'image/svg+xml',
      'Text/HTML',
    ]) {
      expect(() => validateMediaType(t), t).not.toThrow()
    }
  })

  it('rejects what is not a media type', () => {
    for (const t of ['nope', '', '/plain', 'text/', 'text /plain', 'text/plain/x', 'a'.repeat(200)]) {
      expect(() => validateMediaType(t), t).toThrow(FileError)
    }
  })

  it('rejects a type over 128 characters even if well formed', () => {
    const long = `application/${'x'.repeat(200)}`
    expect(() => validateMediaType(long)).toThrow(/invalid media type/)
    expect(() => validateMediaType(`application/${'x'.repeat(128 - 12)}`)).not.toThrow()
  })

  it('rejects control characters in the parameters', () => {
    for (const t of [
      'text/plain; a=\u001b[31mred',
      'text/plain;\u0000',
      'text/plain; x=\ty',
      'text/plain;\r\nX: y',
    ]) {
      expect(() => validateMediaType(t), JSON.stringify(t)).toThrow(FileError)
    }
  })
})

describe('hosted_editor: the v1 agent that wrote a version, signed with the rest', () => {
  it('round-trips the field, covered by the signature and the id', async () => {
    const plain = await openEntry(await make(), MAX, NOW)
    const e = await openEntry(await make({ hostedEditor: 'xagent01' }), MAX, NOW)
    expect(e.hostedEditor).toBe('xagent01')
    expect(plain.hostedEditor).toBeUndefined()
    expect(e.id).not.toBe(plain.id)
    // nobody can add, change or remove it without the author's key
    const raw = await make({ hostedEditor: 'xagent01' })
    expect(await rejection(tamper(raw, (b) => ({ ...b, hostedEditor: 'mallory' })))).toMatch(/signature/)
    expect(await rejection(tamper(raw, (b) => ({ ...b, hostedEditor: undefined })))).toMatch(/signature/)
    expect(await rejection(tamper(await make(), (b) => ({ ...b, hostedEditor: 'mallory' })))).toMatch(
      /signature/,
    )
  })

  it('is a hosted agent id: a signed entry with anything else is refused, and createEntry refuses it', async () => {
    for (const bad of ['', 'a'.repeat(49), 'x y', '-x', 'a\u0000b', 'a/b']) {
      const body = EntryBody.decode(Entry.decode(await make()).body)
      const raw = await signBody({ ...body, hostedEditor: bad }, alice)
      expect(await rejection(raw), JSON.stringify(bad)).toMatch(/hosted editor/)
      await expect(make({ hostedEditor: bad })).rejects.toThrow(FileError)
      expect(() => validateHostedEditor(bad)).toThrow(/hosted editor/)
    }
    expect(() => validateHostedEditor('a'.repeat(48))).not.toThrow()
  })

  it('is forwarded unchanged, and the winner rule ignores it', async () => {
    const raw = await make({ hostedEditor: 'xagent01' })
    expect(Buffer.from((await openEntry(raw, MAX, NOW)).raw).equals(Buffer.from(raw))).toBe(true)
    // the winner is the highest version, then PeerId, then id, whatever the editor says
    const a = await openEntry(await make({ version: 4, base: 3, hostedEditor: 'zzz' }), MAX, NOW)
    const b = await openEntry(await make({ version: 5, base: 4 }), MAX, NOW)
    const stored = [b, a].map(({ raw: _r, ...e }) => ({ ...e, receivedAt: NOW }))
    expect(stateOf('reports/q3.md', stored)?.winner.id).toBe(b.id)
  })

  it('a media type parameter v1-editor (any case) is the reserved one', () => {
    expect(hasReservedMediaParam('text/plain; v1-editor=mallory')).toBe(true)
    expect(hasReservedMediaParam('text/plain;V1-Editor = m')).toBe(true)
    expect(hasReservedMediaParam('text/plain; v1-type=md; v1-editor=')).toBe(true)
    expect(hasReservedMediaParam('text/plain; v1-type=md')).toBe(false)
    expect(hasReservedMediaParam('text/plain; charset=v1-editor')).toBe(false)
    expect(hasReservedMediaParam('v1-editor/x')).toBe(false)
  })
})
