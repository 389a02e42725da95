import type { Stream } from '@libp2p/interface'
import {
  InvalidDataLengthError,
  InvalidDataLengthLengthError,
  lpStream,
  pbStream,
  streamPair,
} from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { carriesAll, validateCard } from '../../src/protocols/presence/card.js'
import {
  MAX_ADDR_LENGTH,
  MAX_ADDRS,
  MAX_CAP_LENGTH,
  MAX_CAPS,
  MAX_DESCRIPTION_LENGTH,
  MAX_MESSAGE_SIZE,
  MAX_NAME_LENGTH,
} from '../../src/protocols/presence/constants.js'
import { InvalidCardError } from '../../src/protocols/presence/errors.js'
import { type AgentCard, PresenceMessage } from '../../src/protocols/presence/pb/presence.js'

function card(overrides: Partial<AgentCard> = {}): AgentCard {
  return {
    name: 'alice',
    caps: ['code', 'review', 'lang:ts', 'web/search'],
    description: 'Writes and reviews TypeScript.\nMultiline is fine.\tTabs too.',
    machine: 'build-box.local',
    version: '0.1.0',
    startedAt: 1_700_000_000_123n,
    load: 2,
    addrs: [Uint8Array.from([4, 127, 0, 0, 1, 6, 0x0f, 0xa0])],
    relayOnly: false,
    ...overrides,
  }
}

describe('PresenceMessage codec', () => {
  it('round-trips an announce with every field set', () => {
    const msg: PresenceMessage = {
      type: PresenceMessage.Type.ANNOUNCE,
      card: card({ relayOnly: true, startedAt: 2n ** 60n }),
      seq: 12345678901234n,
      suspects: [{ peer: new Uint8Array(38).fill(7), startedAt: 2n ** 50n, seq: 3n }],
    }
    const decoded = PresenceMessage.decode(PresenceMessage.encode(msg))
    expect(decoded).toEqual(msg)
    expect(typeof decoded.seq).toBe('bigint')
    expect(decoded.card?.addrs[0]).toBeInstanceOf(Uint8Array)
  })

  it('round-trips a leave', () => {
    const msg: PresenceMessage = { type: PresenceMessage.Type.LEAVE, card: card(), seq: 9n, suspects: [] }
    expect(PresenceMessage.decode(PresenceMessage.encode(msg))).toEqual(msg)
  })

  it('decodes an empty buffer to defaults: an announce without a card', () => {
    const decoded = PresenceMessage.decode(new Uint8Array(0))
    expect(decoded.type).toBe(PresenceMessage.Type.ANNOUNCE)
    expect(decoded.card).toBeUndefined()
    expect(decoded.seq).toBe(0n)
  })

  it('throws on truncated input', () => {
    const bytes = PresenceMessage.encode({ type: PresenceMessage.Type.ANNOUNCE, card: card(), seq: 1n })
    expect(() => PresenceMessage.decode(bytes.subarray(0, bytes.byteLength - 3))).toThrow()
  })
})

describe('validateCard', () => {
  function rejects(overrides: Partial<AgentCard>, message?: RegExp): void {
    const c = card(overrides)
    expect(() => validateCard(c)).toThrow(InvalidCardError)
    if (message != null) expect(() => validateCard(c)).toThrow(message)
  }

  it('accepts a normal card', () => {
    expect(() => validateCard(card())).not.toThrow()
  })

  it('accepts cards at every limit', () => {
    expect(() =>
      validateCard(
        card({
          name: 'a'.repeat(MAX_NAME_LENGTH),
          caps: Array.from({ length: MAX_CAPS }, (_, i) => `${i}`.padEnd(MAX_CAP_LENGTH, 'x')),
          description: 'd'.repeat(MAX_DESCRIPTION_LENGTH),
          addrs: Array.from({ length: MAX_ADDRS }, () => new Uint8Array(MAX_ADDR_LENGTH)),
          startedAt: BigInt(Number.MAX_SAFE_INTEGER),
        }),
      ),
    ).not.toThrow()
  })

  it('accepts an empty caps list, description, machine and addrs', () => {
    expect(() => validateCard(card({ caps: [], description: '', machine: '', addrs: [] }))).not.toThrow()
  })

  it('accepts names with dots, dashes and underscores inside', () => {
    for (const name of ['a', 'agent-1', 'my_agent.v2', '_private', '9lives']) {
      expect(() => validateCard(card({ name }))).not.toThrow()
    }
  })

  it('rejects an empty name', () => rejects({ name: '' }, /invalid agent name/))
  it('rejects a name with a space', () => rejects({ name: 'my agent' }, /invalid agent name/))
  it("rejects a name starting with '-'", () => rejects({ name: '-rf' }, /invalid agent name/))
  it("rejects a name starting with '.'", () => rejects({ name: '.hidden' }, /invalid agent name/))
  it('rejects a name with a slash or non-ASCII letter', () => {
    rejects({ name: 'a/b' })
    rejects({ name: 'agënt' })
  })
  it('rejects a name over 64 characters', () => rejects({ name: 'a'.repeat(MAX_NAME_LENGTH + 1) }))

  it('rejects too many caps (33)', () =>
    rejects({ caps: Array.from({ length: MAX_CAPS + 1 }, (_, i) => `cap${i}`) }, /too many caps: 33/))
  it('rejects a cap over 64 characters', () =>
    rejects({ caps: ['ok', 'c'.repeat(MAX_CAP_LENGTH + 1)] }, /invalid cap/))
  it('rejects an empty cap or one with a space', () => {
    rejects({ caps: [''] }, /invalid cap/)
    rejects({ caps: ['two words'] }, /invalid cap/)
  })
  it('rejects duplicate caps', () => rejects({ caps: ['code', 'review', 'code'] }, /must not repeat/))

  it('rejects a description over 1024 characters', () =>
    rejects({ description: 'd'.repeat(MAX_DESCRIPTION_LENGTH + 1) }, /description too long/))

  it.each([
    ['NUL', '\u0000'],
    ['ESC', '\u001b[31m'],
    ['DEL', '\u007f'],
    ['CR', '\r'],
  ])('rejects %s in the description or machine', (_label, ch) => {
    rejects({ description: `nice${ch}text` }, /description contains control characters/)
    rejects({ machine: `host${ch}` }, /machine contains control characters/)
  })

  it('rejects control characters or excess length in the version', () => {
    rejects({ version: '1.0\u0007' }, /version contains control characters/)
    rejects({ version: '1'.repeat(65) }, /version too long/)
  })

  it('rejects a machine name over 255 characters', () =>
    rejects({ machine: 'm'.repeat(256) }, /machine too long/))

  it('rejects too many addrs (17)', () =>
    rejects(
      { addrs: Array.from({ length: MAX_ADDRS + 1 }, () => Uint8Array.from([1])) },
      /too many addresses/,
    ))
  it('rejects an empty addr', () =>
    rejects({ addrs: [Uint8Array.from([1]), new Uint8Array(0)] }, /address of 0 bytes/))
  it('rejects an addr over 256 bytes', () =>
    rejects({ addrs: [new Uint8Array(MAX_ADDR_LENGTH + 1)] }, /address of 257 bytes/))

  it('rejects startedAt 0 and beyond the safe integer range', () => {
    rejects({ startedAt: 0n }, /startedAt out of range/)
    rejects({ startedAt: BigInt(Number.MAX_SAFE_INTEGER) + 1n }, /startedAt out of range/)
  })
})

describe('carriesAll: does a card carry the addresses an mDNS answer gives?', () => {
  const id = '12D3KooWJ8otSvotjqHdMEdpBHQ21Bpt3pA46q3kGJFKD2p6dDn4'
  const addrs = [`/ip4/127.0.0.1/tcp/4001/p2p/${id}`, '/ip4/192.168.1.5/tcp/4001']
  const withAddrs = card({ addrs: addrs.map((a) => multiaddr(a).bytes as Uint8Array<ArrayBuffer>) })

  it('compares addresses with or without their /p2p/<id>', () => {
    expect(carriesAll(withAddrs, [multiaddr('/ip4/127.0.0.1/tcp/4001')])).toBe(true)
    expect(carriesAll(withAddrs, [multiaddr(`/ip4/192.168.1.5/tcp/4001/p2p/${id}`)])).toBe(true)
    expect(carriesAll(withAddrs, [])).toBe(true)
  })

  it('is false when the peer moved to another port or address the card lacks', () => {
    expect(carriesAll(withAddrs, [multiaddr(`/ip4/127.0.0.1/tcp/4999/p2p/${id}`)])).toBe(false)
    expect(
      carriesAll(withAddrs, [multiaddr('/ip4/127.0.0.1/tcp/4001'), multiaddr('/ip4/10.0.0.9/tcp/4001')]),
    ).toBe(false)
  })

  it('skips an address in the card it cannot read', () => {
    const odd = card({
      addrs: [Uint8Array.from([0xff, 0xff, 0x01]), multiaddr(addrs[1]!).bytes as Uint8Array<ArrayBuffer>],
    })
    expect(carriesAll(odd, [multiaddr('/ip4/192.168.1.5/tcp/4001')])).toBe(true)
    expect(carriesAll(odd, [multiaddr('/ip4/127.0.0.1/tcp/4001')])).toBe(false)
  })
})

describe('message size limit on a stream', () => {
  const streams: Stream[] = []
  afterEach(() => {
    for (const s of streams.splice(0)) s.abort(new Error('test over'))
  })

  async function pair(): Promise<[Stream, Stream]> {
    const [a, b] = await streamPair()
    streams.push(a, b)
    return [a, b]
  }

  /** An encoded PresenceMessage of exactly `size` bytes (the description pads it). */
  function messageOfSize(size: number): Uint8Array {
    const base = PresenceMessage.encode({ type: PresenceMessage.Type.ANNOUNCE, card: card(), seq: 1n })
    for (let pad = size - base.byteLength - 8; pad < size; pad++) {
      const description = 'x'.repeat(card().description.length + pad)
      const bytes = PresenceMessage.encode({
        type: PresenceMessage.Type.ANNOUNCE,
        card: card({ description }),
        seq: 1n,
      })
      if (bytes.byteLength === size) return bytes
    }
    throw new Error(`cannot build a message of ${size} bytes`)
  }

  it('a message of exactly MAX_MESSAGE_SIZE bytes passes and decodes', async () => {
    const [a, b] = await pair()
    const bytes = messageOfSize(MAX_MESSAGE_SIZE)
    const write = lpStream(a).write(bytes)
    const msg = await pbStream(b, { maxDataLength: MAX_MESSAGE_SIZE }).pb(PresenceMessage).read()
    await write
    expect(msg.card?.description.length).toBeGreaterThan(MAX_MESSAGE_SIZE - 200)
    expect(PresenceMessage.encode(msg).byteLength).toBe(MAX_MESSAGE_SIZE)
  })

  it('pbStream refuses a larger frame before decoding it', async () => {
    const [a, b] = await pair()
    const bytes = messageOfSize(MAX_MESSAGE_SIZE + 1)
    // The frame is a well-formed message: only its size can make the read fail.
    expect(PresenceMessage.decode(bytes).card?.name).toBe('alice')
    const decode = vi.fn(PresenceMessage.decode)
    const write = lpStream(a).write(bytes)
    const read = pbStream(b, { maxDataLength: MAX_MESSAGE_SIZE })
      .pb({ encode: PresenceMessage.encode, decode })
      .read()
    await expect(read).rejects.toBeInstanceOf(InvalidDataLengthError)
    await expect(read).rejects.toThrow(`${MAX_MESSAGE_SIZE + 1} > ${MAX_MESSAGE_SIZE}`)
    expect(decode).not.toHaveBeenCalled()
    await write.catch(() => {})
  })

  it('lpStream with maxDataLength, as the presence protocol reads, refuses it too', async () => {
    const [a, b] = await pair()
    const write = lpStream(a).write(messageOfSize(MAX_MESSAGE_SIZE + 1))
    await expect(lpStream(b, { maxDataLength: MAX_MESSAGE_SIZE }).read()).rejects.toThrow(
      InvalidDataLengthError,
    )
    await write.catch(() => {})
  })

  it('refuses on the length prefix alone, without waiting for the body', async () => {
    const [a, b] = await pair()
    // Only a varint announcing 1 MiB is sent; the body never comes.
    const prefix = Uint8Array.from([0x80, 0x80, 0x40])
    a.send(prefix)
    const read = lpStream(b, { maxDataLength: MAX_MESSAGE_SIZE }).read({ signal: AbortSignal.timeout(2_000) })
    // A 3-byte length prefix is already longer than any allowed length needs.
    await expect(read).rejects.toBeInstanceOf(InvalidDataLengthLengthError)
  })
})
