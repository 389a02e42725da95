import { createHash } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Uint8ArrayList } from 'uint8arraylist'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  type BroadcastInput,
  broadcastId,
  createBroadcast,
  openBroadcast,
  validateInput,
  validateTopic,
} from '../../src/protocols/knowledge/broadcast.js'
import {
  MAX_BROADCAST_SIZE,
  MAX_CONTENT_SIZE,
  MAX_FUTURE_SKEW,
  MAX_TAG_LENGTH,
  MAX_TAGS,
  MAX_TOPIC_LENGTH,
  SIGNING_DOMAIN,
} from '../../src/protocols/knowledge/constants.js'
import { InvalidBroadcastError } from '../../src/protocols/knowledge/errors.js'
import { Broadcast, BroadcastBody } from '../../src/protocols/knowledge/pb/knowledge.js'

const T0 = 1_700_000_000_000
const INPUT: BroadcastInput = { topic: 'general', tags: ['ci', 'release'], content: 'build 42 is green' }

let key: PrivateKey
let peer: PeerId
let otherKey: PrivateKey
let other: PeerId

beforeAll(async () => {
  key = await generateKeyPair('Ed25519')
  peer = peerIdFromPrivateKey(key)
  otherKey = await generateKeyPair('Ed25519')
  other = peerIdFromPrivateKey(otherKey)
})

function authorBytes(p: PeerId): Uint8Array<ArrayBuffer> {
  return p.toMultihash().bytes as Uint8Array<ArrayBuffer>
}

function signingInput(body: Uint8Array): Uint8Array {
  const domain = new TextEncoder().encode(SIGNING_DOMAIN)
  const out = new Uint8Array(domain.length + body.length)
  out.set(domain)
  out.set(body, domain.length)
  return out
}

/** Encodes and signs a body by hand, as a peer running other code could. */
async function signBody(signer: PrivateKey, body: BroadcastBody): Promise<Uint8Array> {
  const encoded = BroadcastBody.encode(body)
  const signature = await signer.sign(signingInput(encoded))
  return Broadcast.encode({ body: encoded, signature: signature as Uint8Array<ArrayBuffer> })
}

function body(overrides: Partial<BroadcastBody> = {}): BroadcastBody {
  return {
    author: authorBytes(peer),
    topic: 'general',
    tags: ['ci'],
    content: 'hello',
    time: BigInt(T0),
    nonce: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]),
    ...overrides,
  }
}

/** The InvalidBroadcastError message `p` rejects with; fails the test on success or another error. */
async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidBroadcastError)
    return (err as Error).message
  }
  throw new Error('expected an InvalidBroadcastError, but it resolved')
}

function invalid(input: Partial<BroadcastInput>): () => void {
  return () => validateInput({ ...INPUT, ...input })
}

describe('createBroadcast and openBroadcast', () => {
  it('round trips every field, the author and the raw bytes', async () => {
    const raw = await createBroadcast(key, authorBytes(peer), INPUT, T0)
    const b = await openBroadcast(raw, T0)
    expect(b.author).toBe(peer.toString())
    expect(b.topic).toBe('general')
    expect(b.tags).toEqual(['ci', 'release'])
    expect(b.content).toBe('build 42 is green')
    expect(b.time).toBe(T0)
    expect(b.raw).toEqual(raw)
    expect(b.id).toMatch(/^[0-9a-f]{32}$/)
    // the id is the sha256 of the signed body, cut to 32 hex characters
    const signedBody = Broadcast.decode(raw).body
    expect(b.id).toBe(createHash('sha256').update(signedBody).digest('hex').slice(0, 32))
    expect(b.id).toBe(broadcastId(signedBody))
  })

  it('the body carries the author, the input, the time and an 8-byte nonce', async () => {
    const raw = await createBroadcast(key, authorBytes(peer), INPUT, T0)
    const decoded = BroadcastBody.decode(Broadcast.decode(raw).body)
    expect(decoded.author).toEqual(authorBytes(peer))
    expect(decoded.time).toBe(BigInt(T0))
    expect(decoded.nonce.byteLength).toBe(8)
    expect(
      await peer.publicKey!.verify(signingInput(Broadcast.decode(raw).body), Broadcast.decode(raw).signature),
    ).toBe(true)
  })

  it('opens a Uint8ArrayList, including one split into several chunks', async () => {
    const raw = await createBroadcast(key, authorBytes(peer), INPUT, T0)
    const list = new Uint8ArrayList(raw.subarray(0, 10), raw.subarray(10, 50), raw.subarray(50))
    const b = await openBroadcast(list, T0)
    expect(b.content).toBe(INPUT.content)
    expect(b.raw).toEqual(raw)
  })

  it('raw is a copy: changing the input buffer afterwards does not change the result', async () => {
    const raw = await createBroadcast(key, authorBytes(peer), INPUT, T0)
    const copy = Uint8Array.from(raw)
    const b = await openBroadcast(raw, T0)
    raw.fill(0)
    expect(b.raw).toEqual(copy)
  })

  it('the id is stable for the same bytes and differs between two identical inputs (nonce)', async () => {
    const raw = await createBroadcast(key, authorBytes(peer), INPUT, T0)
    const a = await openBroadcast(raw, T0)
    const again = await openBroadcast(Uint8Array.from(raw), T0)
    expect(again.id).toBe(a.id)

    const raw2 = await createBroadcast(key, authorBytes(peer), INPUT, T0)
    expect(raw2).not.toEqual(raw)
    const b = await openBroadcast(raw2, T0)
    expect(b.id).not.toBe(a.id)
    expect({ ...b, id: '', raw: null }).toEqual({ ...a, id: '', raw: null })
  })

  it('uses the current time when none is given', async () => {
    const before = Date.now()
    const b = await openBroadcast(await createBroadcast(key, authorBytes(peer), INPUT))
    expect(b.time).toBeGreaterThanOrEqual(before)
    expect(b.time).toBeLessThanOrEqual(Date.now())
  })

  it('createBroadcast validates its input before signing', async () => {
    await expect(createBroadcast(key, authorBytes(peer), { ...INPUT, topic: 'BAD' }, T0)).rejects.toThrow(
      InvalidBroadcastError,
    )
    await expect(createBroadcast(key, authorBytes(peer), { ...INPUT, content: ' ' }, T0)).rejects.toThrow(
      InvalidBroadcastError,
    )
  })

  it('opens a broadcast at the limits: 64 KiB of content, 16 tags of 64 multi-byte characters', async () => {
    const tags = Array.from({ length: MAX_TAGS }, (_, i) =>
      `${'€'.repeat(MAX_TAG_LENGTH - 2)}${i}`.padEnd(64, 'x'),
    )
    const content = 'a'.repeat(MAX_CONTENT_SIZE)
    const topic = 't'.repeat(MAX_TOPIC_LENGTH)
    const raw = await createBroadcast(key, authorBytes(peer), { topic, tags, content }, T0)
    expect(raw.byteLength).toBeLessThanOrEqual(MAX_BROADCAST_SIZE)
    const b = await openBroadcast(raw, T0)
    expect(b.content.length).toBe(MAX_CONTENT_SIZE)
    expect(b.tags).toEqual(tags)
  })
})

describe('openBroadcast rejects', () => {
  it('content changed while the signature is kept', async () => {
    const raw = await createBroadcast(key, authorBytes(peer), INPUT, T0)
    const msg = Broadcast.decode(raw)
    const decoded = BroadcastBody.decode(msg.body)
    const forged = Broadcast.encode({
      body: BroadcastBody.encode({ ...decoded, content: 'build 42 is red' }),
      signature: msg.signature,
    })
    // the forged bytes are well formed: only the signature check can catch them
    expect(BroadcastBody.decode(Broadcast.decode(forged).body).content).toBe('build 42 is red')
    expect(await rejection(openBroadcast(forged, T0))).toMatch(/signature/)
  })

  it('a flipped bit in the signature', async () => {
    const raw = await createBroadcast(key, authorBytes(peer), INPUT, T0)
    const msg = Broadcast.decode(raw)
    for (const index of [0, 31, 63]) {
      const signature = Uint8Array.from(msg.signature)
      signature[index]! ^= 0x01
      const forged = Broadcast.encode({ body: msg.body, signature })
      expect(await rejection(openBroadcast(forged, T0))).toMatch(/signature/)
    }
  })

  it('a missing or truncated signature', async () => {
    const raw = await createBroadcast(key, authorBytes(peer), INPUT, T0)
    const msg = Broadcast.decode(raw)
    await rejection(openBroadcast(Broadcast.encode({ body: msg.body, signature: new Uint8Array(0) }), T0))
    await rejection(
      openBroadcast(Broadcast.encode({ body: msg.body, signature: msg.signature.subarray(0, 63) }), T0),
    )
  })

  it('the author replaced by another peer, signature kept', async () => {
    const raw = await createBroadcast(key, authorBytes(peer), INPUT, T0)
    const msg = Broadcast.decode(raw)
    const decoded = BroadcastBody.decode(msg.body)
    const forged = Broadcast.encode({
      body: BroadcastBody.encode({ ...decoded, author: authorBytes(other) }),
      signature: msg.signature,
    })
    expect(await rejection(openBroadcast(forged, T0))).toMatch(/signature/)
  })

  it('a body signed by another key but claiming the first author', async () => {
    const forged = await signBody(otherKey, body({ author: authorBytes(peer) }))
    expect(await rejection(openBroadcast(forged, T0))).toMatch(/signature/)
    // the same body signed by the right key opens, so it is the signer that is refused
    const genuine = await signBody(key, body({ author: authorBytes(peer) }))
    expect((await openBroadcast(genuine, T0)).author).toBe(peer.toString())
  })

  it('a signature made without the signing domain', async () => {
    const encoded = BroadcastBody.encode(body())
    const signature = await key.sign(encoded)
    const forged = Broadcast.encode({ body: encoded, signature: signature as Uint8Array<ArrayBuffer> })
    expect(await rejection(openBroadcast(forged, T0))).toMatch(/signature/)
  })

  it('an author that is not a usable PeerId', async () => {
    // empty author
    await rejection(openBroadcast(await signBody(key, body({ author: new Uint8Array(0) })), T0))
    // garbage that is not a multihash
    await rejection(
      openBroadcast(await signBody(key, body({ author: new Uint8Array([0xff, 0xff, 0xff]) })), T0),
    )
    // a sha256 multihash (like an RSA PeerId): no public key inside to verify with
    const sha = new Uint8Array(34)
    sha[0] = 0x12
    sha[1] = 0x20
    expect(await rejection(openBroadcast(await signBody(key, body({ author: sha })), T0))).toMatch(/author/)
  })

  it('malformed bytes', async () => {
    await rejection(openBroadcast(new Uint8Array([0xff, 0xff, 0xff, 0xff]), T0))
    await rejection(openBroadcast(new Uint8Array([0x0a, 0x10, 0x01]), T0)) // length beyond the end
    await rejection(openBroadcast(new Uint8Array(0), T0))
    // a valid outer message whose body is not a BroadcastBody
    await rejection(
      openBroadcast(
        Broadcast.encode({ body: new Uint8Array([0xff, 0xff, 0xff]), signature: new Uint8Array(64) }),
        T0,
      ),
    )
    // random bytes
    const random = new Uint8Array(200)
    for (let i = 0; i < random.length; i++) random[i] = (i * 131 + 7) & 0xff
    await rejection(openBroadcast(random, T0))
  })

  it('a broadcast over MAX_BROADCAST_SIZE, before decoding it', async () => {
    const big = new Uint8Array(MAX_BROADCAST_SIZE + 1)
    expect(await rejection(openBroadcast(big, T0))).toMatch(/bytes/)
    expect(await rejection(openBroadcast(new Uint8ArrayList(big), T0))).toMatch(/bytes/)
    // a well-signed one made over the size by extra bytes in the signature field is refused too
    const raw = await createBroadcast(key, authorBytes(peer), INPUT, T0)
    const msg = Broadcast.decode(raw)
    const padded = Broadcast.encode({ body: msg.body, signature: new Uint8Array(MAX_BROADCAST_SIZE) })
    expect(await rejection(openBroadcast(padded, T0))).toMatch(new RegExp(`${padded.byteLength} bytes`))
  })

  it('a time more than 5 minutes in the future, but not one just within', async () => {
    const atLimit = await createBroadcast(key, authorBytes(peer), INPUT, T0 + MAX_FUTURE_SKEW)
    expect((await openBroadcast(atLimit, T0)).time).toBe(T0 + MAX_FUTURE_SKEW)
    const beyond = await createBroadcast(key, authorBytes(peer), INPUT, T0 + MAX_FUTURE_SKEW + 1)
    expect(await rejection(openBroadcast(beyond, T0))).toMatch(/future/)
    // the same bytes open once the clock has caught up
    expect((await openBroadcast(beyond, T0 + 1)).time).toBe(T0 + MAX_FUTURE_SKEW + 1)
  })

  it('a time of 0 or beyond a safe integer', async () => {
    expect(await rejection(openBroadcast(await signBody(key, body({ time: 0n })), T0))).toMatch(/time/)
    expect(
      await rejection(openBroadcast(await signBody(key, body({ time: 2n ** 63n })), Number.MAX_SAFE_INTEGER)),
    ).toMatch(/time/)
  })

  it('a properly signed body with an invalid field', async () => {
    expect(await rejection(openBroadcast(await signBody(key, body({ topic: 'BAD' })), T0))).toMatch(/topic/)
    expect(await rejection(openBroadcast(await signBody(key, body({ tags: ['a', 'a'] })), T0))).toMatch(
      /repeat/,
    )
    expect(await rejection(openBroadcast(await signBody(key, body({ tags: ['a,b'] })), T0))).toMatch(/tag/)
    expect(await rejection(openBroadcast(await signBody(key, body({ content: '' })), T0))).toMatch(/empty/)
    const tooMany = Array.from({ length: MAX_TAGS + 1 }, (_, i) => `t${i}`)
    expect(await rejection(openBroadcast(await signBody(key, body({ tags: tooMany })), T0))).toMatch(/tags/)
    // the control: the same hand-made body with valid fields opens
    expect((await openBroadcast(await signBody(key, body()), T0)).topic).toBe('general')
  })
})

describe('validateInput', () => {
  it('accepts a plain input', () => {
    expect(() => validateInput(INPUT)).not.toThrow()
    expect(() => validateInput({ topic: 'general', tags: [], content: 'x' })).not.toThrow()
  })

  it('rejects empty or whitespace-only content', () => {
    expect(invalid({ content: '' })).toThrow(InvalidBroadcastError)
    expect(invalid({ content: ' \t\n\r ' })).toThrow(InvalidBroadcastError)
    expect(invalid({ content: ' x ' })).not.toThrow()
  })

  it('counts content in UTF-8 bytes, up to 64 KiB', () => {
    // '€' is 3 bytes in UTF-8 but one UTF-16 unit
    const euros = Math.floor(MAX_CONTENT_SIZE / 3) // 21845 * 3 = 65535 bytes
    expect(invalid({ content: '€'.repeat(euros) })).not.toThrow()
    expect(invalid({ content: `${'€'.repeat(euros)}a` })).not.toThrow() // exactly 65536 bytes
    expect(invalid({ content: `${'€'.repeat(euros)}ab` })).toThrow(/65537 bytes/)
    // under the limit in characters, over it in bytes
    const content = '€'.repeat(euros + 1)
    expect(content.length).toBeLessThan(MAX_CONTENT_SIZE)
    expect(invalid({ content })).toThrow(InvalidBroadcastError)
    expect(invalid({ content: 'a'.repeat(MAX_CONTENT_SIZE + 1) })).toThrow(InvalidBroadcastError)
  })

  it('allows 16 tags and refuses 17', () => {
    const tags = (n: number) => Array.from({ length: n }, (_, i) => `tag${i}`)
    expect(invalid({ tags: tags(MAX_TAGS) })).not.toThrow()
    expect(invalid({ tags: tags(MAX_TAGS + 1) })).toThrow(/too many tags: 17/)
  })

  it('allows a tag of 64 characters and refuses 65', () => {
    expect(invalid({ tags: ['a'.repeat(MAX_TAG_LENGTH)] })).not.toThrow()
    expect(invalid({ tags: ['a'.repeat(MAX_TAG_LENGTH + 1)] })).toThrow(InvalidBroadcastError)
  })

  it('refuses an empty tag, a comma, a newline or another control character', () => {
    expect(invalid({ tags: [''] })).toThrow(InvalidBroadcastError)
    expect(invalid({ tags: ['a,b'] })).toThrow(InvalidBroadcastError)
    expect(invalid({ tags: ['a\nb'] })).toThrow(InvalidBroadcastError)
    expect(invalid({ tags: ['a\u0000b'] })).toThrow(InvalidBroadcastError)
    expect(invalid({ tags: ['a\u007fb'] })).toThrow(InvalidBroadcastError)
    expect(invalid({ tags: ['ok', 'tab\there'] })).toThrow(InvalidBroadcastError)
    // spaces, dots, unicode are fine
    expect(invalid({ tags: ['two words', 'v1.2', 'größe'] })).not.toThrow()
  })

  it('refuses repeated tags', () => {
    expect(invalid({ tags: ['a', 'b', 'a'] })).toThrow(/repeat/)
    expect(invalid({ tags: ['a', 'A'] })).not.toThrow()
  })

  it('refuses bad topics', () => {
    for (const topic of [
      '',
      'UPPER',
      'Mixed',
      '-lead',
      '.lead',
      '_lead',
      'has space',
      'a/b',
      'é',
      'x'.repeat(65),
    ]) {
      expect(invalid({ topic }), topic).toThrow(InvalidBroadcastError)
      expect(() => validateTopic(topic), topic).toThrow(InvalidBroadcastError)
    }
  })

  it('accepts good topics', () => {
    for (const topic of ['general', 'ci.builds_2-x', '0', 'x'.repeat(MAX_TOPIC_LENGTH), 'a-', 'a.']) {
      expect(invalid({ topic }), topic).not.toThrow()
      expect(() => validateTopic(topic), topic).not.toThrow()
    }
  })
})

describe('from_hosted_agent: the hosted sender, signed', () => {
  it('round trips, and is absent when not given', async () => {
    const b = await openBroadcast(
      await createBroadcast(key, authorBytes(peer), { ...INPUT, fromHostedAgent: 'xagent01' }, T0),
      T0,
    )
    expect(b.fromHostedAgent).toBe('xagent01')
    const plain = await openBroadcast(await createBroadcast(key, authorBytes(peer), INPUT, T0), T0)
    expect(plain.fromHostedAgent).toBeUndefined()
  })

  it('cannot be added, changed or removed without breaking the signature', async () => {
    for (const [given, forged] of [
      [undefined, 'mallory'],
      ['xagent01', 'mallory'],
      ['xagent01', undefined],
    ] as const) {
      const raw = await createBroadcast(key, authorBytes(peer), { ...INPUT, fromHostedAgent: given }, T0)
      const msg = Broadcast.decode(raw)
      const body = BroadcastBody.decode(msg.body)
      const tampered = Broadcast.encode({
        body: BroadcastBody.encode({ ...body, fromHostedAgent: forged }),
        signature: msg.signature,
      })
      expect(await rejection(openBroadcast(tampered, T0))).toMatch(/signature/)
    }
  })

  it('refuses a sender that is not a hosted agent id', async () => {
    for (const bad of ['', 'a b', '-x', 'a'.repeat(49), 'x\n']) {
      expect(() => validateInput({ ...INPUT, fromHostedAgent: bad })).toThrow(InvalidBroadcastError)
    }
    expect(() => validateInput({ ...INPUT, fromHostedAgent: 'a'.repeat(48) })).not.toThrow()
  })
})
