import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromMultihash, peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream, streamPair } from '@libp2p/utils'
import * as Digest from 'multiformats/hashes/digest'
import { describe, expect, it, vi } from 'vitest'
import {
  MAX_EXCHANGE_FRAME,
  MAX_MEMBER_DIGESTS,
  MAX_MESSAGE_SIZE,
  MAX_RELAYED_CARDS,
  MEMBER_DIGEST_LENGTH,
} from '../../src/protocols/presence/constants.js'
import { InvalidCardError } from '../../src/protocols/presence/errors.js'
import { readRelays } from '../../src/protocols/presence/exchange.js'
import {
  EARLY_SYNC_FOR,
  EARLY_SYNC_INTERVAL,
  MemberRelay,
  MemberSync,
  memberDigest,
  parseDigests,
  STEADY_SYNC_HEARTBEATS,
} from '../../src/protocols/presence/members.js'
import {
  type AgentCard,
  PresenceMessage,
  RelayBatch,
  type RelayedCard,
} from '../../src/protocols/presence/pb/presence.js'
import { PeerTable } from '../../src/protocols/presence/peer-table.js'
import { encodeSigned, signedPart } from '../../src/protocols/presence/signed.js'

const STALE = 120_000
const OFFLINE = 600_000

function card(name: string, overrides: Partial<AgentCard> = {}): AgentCard {
  return {
    ...{ name, caps: [], description: '', machine: 'host', version: '0.1.0' },
    ...{ startedAt: 1_700_000_000_000n, load: 0, addrs: [], relayOnly: false },
    ...overrides,
  }
}

interface Author {
  key: PrivateKey
  id: string
  bytes: Uint8Array
}

async function author(): Promise<Author> {
  const key = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(key)
  return { key, id: peerId.toString(), bytes: peerId.toMultihash().bytes }
}

/** A card signed by `signer`, relayed as written by `claimed` (normally the same node), `age` ms old. */
async function relayed(signer: Author, seq: bigint, age = 0, claimed = signer, c = card('x')) {
  const wire = await encodeSigned(signer.key, { type: PresenceMessage.Type.ANNOUNCE, card: c, seq }, true)
  const msg = PresenceMessage.decode(wire)
  return {
    author: claimed.bytes,
    message: signedPart(wire),
    signature: msg.signature!,
    age,
  } as RelayedCard
}

async function acc(r: MemberRelay, ...args: Parameters<MemberRelay['accept']>) {
  return (await r.accept(...args)).applied
}

function world(start = 10_000_000) {
  const clock = { now: start }
  const now = () => clock.now
  // no stretch: these tests hold a handful of members and are about relaying, not pace
  const table = new PeerTable({ staleAfter: STALE, offlineAfter: OFFLINE, fullRateMembers: 100 }, now)
  return { clock, table, relay: new MemberRelay(table, now) }
}

describe('signed presence messages', () => {
  it('carry a signature over the fields before it, and the member-list flag outside it', async () => {
    const a = await author()
    const msg = { type: PresenceMessage.Type.ANNOUNCE, card: card('alice'), seq: 3n }
    const wire = await encodeSigned(a.key, msg, true)
    const decoded = PresenceMessage.decode(wire)
    expect(decoded).toMatchObject({ seq: 3n, memberList: true, card: { name: 'alice' } })
    expect(decoded.signature).toHaveLength(64)
    // what was signed is the plain encoding, so an older node's decoder sees the same message
    expect(signedPart(wire)).toEqual(PresenceMessage.encode(msg))
    expect(
      await a.key.publicKey.verify(
        new Uint8Array([...new TextEncoder().encode('clawlink/presence/card/1'), ...signedPart(wire)]),
        decoded.signature!,
      ),
    ).toBe(true)
  })

  it('go out unsigned when the signature would take a card at the edge over the size limit', async () => {
    const a = await author()
    const big = {
      type: PresenceMessage.Type.ANNOUNCE,
      card: card('x'.repeat(MAX_MESSAGE_SIZE - 80)),
      seq: 1n,
    }
    const wire = await encodeSigned(a.key, big, true)
    expect(PresenceMessage.decode(wire).signature).toBeUndefined()
    expect(wire.byteLength).toBeLessThanOrEqual(MAX_MESSAGE_SIZE)
  })

  it('go out unsigned without a key, as older nodes send them', async () => {
    const wire = await encodeSigned(undefined, {
      type: PresenceMessage.Type.ANNOUNCE,
      card: card('a'),
      seq: 1n,
    })
    expect(PresenceMessage.decode(wire).signature).toBeUndefined()
  })
})

describe('relayed cards', () => {
  const self = 'self-id'
  const remote = 'remote-id'

  it('a card signed by its author is taken, heard from as long ago as the relayer says', async () => {
    const { table, relay, clock } = world()
    const x = await author()
    const applied = await acc(relay, self, remote, [await relayed(x, 5n, 30_000)])
    expect(applied).toHaveLength(1)
    expect(applied[0]!.result).toBe('new')
    expect(applied[0]!.change?.to).toBe('online')
    const r = table.get(x.id)!
    expect(r.card.name).toBe('x')
    expect(r.lastSeen).toBe(clock.now - 30_000)
    // relayed again with the same card but older news: the time heard from never moves back
    await acc(relay, self, remote, [await relayed(x, 5n, 60_000)])
    expect(table.get(x.id)!.lastSeen).toBe(clock.now - 30_000)
    // the same card heard from more recently by another relayer: moves forward, never past now
    await acc(relay, self, remote, [await relayed(x, 5n, 1_000)])
    expect(table.get(x.id)!.lastSeen).toBe(clock.now - 1_000)
  })

  it('a card that last heard from is already offline is not taken: a relay cannot revive the dead', async () => {
    const { table, relay } = world()
    const x = await author()
    expect(await acc(relay, self, remote, [await relayed(x, 5n, STALE + OFFLINE + 1)])).toEqual([])
    expect(table.get(x.id)).toBeUndefined()
    // a stale one is listed as stale
    await acc(relay, self, remote, [await relayed(x, 5n, STALE + 1)])
    expect(table.status(table.get(x.id)!)).toBe('stale')
  })

  it('refuses a bad signature', async () => {
    const { table, relay } = world()
    const x = await author()
    const c = await relayed(x, 5n)
    const bad = Uint8Array.from(c.signature)
    bad[0]! ^= 1
    expect(await relay.accept(self, remote, [{ ...c, signature: bad as Uint8Array<ArrayBuffer> }])).toEqual({
      applied: [],
      forged: 1,
    })
    // a changed card under the author's signature is just as bad
    const tampered = Uint8Array.from(c.message)
    tampered[tampered.length - 1]! ^= 1
    expect(
      await relay.accept(self, remote, [{ ...c, message: tampered as Uint8Array<ArrayBuffer> }]),
    ).toEqual({ applied: [], forged: 1 })
    expect(table.get(x.id)).toBeUndefined()
  })

  it('refuses a card about a third peer signed by someone else (the relayer cannot speak for it)', async () => {
    const { table, relay } = world()
    const x = await author()
    const mallory = await author()
    // mallory signs a card and claims x wrote it
    expect(await acc(relay, self, remote, [await relayed(mallory, 9n, 0, x)])).toEqual([])
    expect(table.get(x.id)).toBeUndefined()
    expect(table.get(mallory.id)).toBeUndefined()
  })

  it('ignores cards about this node and about the relayer, and invalid cards even when signed', async () => {
    const { table, relay } = world()
    const me = await author()
    const them = await author()
    const x = await author()
    expect(await acc(relay, me.id, them.id, [await relayed(me, 1n), await relayed(them, 1n)])).toEqual([])
    const badName = await relayed(x, 1n, 0, x, card('bad\u0000name'))
    expect(await acc(relay, me.id, them.id, [badName])).toEqual([])
    expect(table.list()).toEqual([])
  })

  it('never lets an older card override a newer one held', async () => {
    const { table, relay } = world()
    const x = await author()
    table.announce(x.id, card('x-new'), 7n)
    expect(await acc(relay, self, remote, [await relayed(x, 6n, 0, x, card('x-old'))])).toEqual([])
    expect(table.get(x.id)!.card.name).toBe('x-new')
    // an older run too
    const oldRun = card('x-old', { startedAt: 1_600_000_000_000n })
    expect(await acc(relay, self, remote, [await relayed(x, 99n, 0, x, oldRun)])).toEqual([])
    expect(table.get(x.id)!.card.name).toBe('x-new')
  })

  it('does not bring back a peer that left, unless the card is newer than its leave', async () => {
    const { table, relay } = world()
    const x = await author()
    table.announce(x.id, card('x'), 5n)
    table.leave(x.id, card('x').startedAt, 6n)
    expect(await acc(relay, self, remote, [await relayed(x, 5n)])).toEqual([])
    expect(table.status(table.get(x.id)!)).toBe('offline')
    // a new run of the peer (a later start) is news
    const applied = await acc(relay, self, remote, [
      await relayed(x, 1n, 0, x, card('x', { startedAt: 1_800_000_000_000n })),
    ])
    expect(applied[0]?.change).toMatchObject({ from: 'offline', to: 'online' })
    expect(table.get(x.id)!.leftAt).toBeUndefined()
  })

  it('relays only verified cards of members not offline and not left, that the other side lacks, with their age', async () => {
    const { table, relay, clock } = world()
    const [online, stale, offline, left, unsigned, known, forged, other] = await Promise.all(
      Array.from({ length: 8 }, () => author()),
    )
    const hold = async (a: Author, heardAgo: number, signer = a) => {
      const wire = await encodeSigned(signer.key, {
        type: PresenceMessage.Type.ANNOUNCE,
        card: card('m'),
        seq: 1n,
      })
      clock.now -= heardAgo
      table.announce(a.id, card('m'), 1n, {
        message: signedPart(wire),
        signature: PresenceMessage.decode(wire).signature!,
      })
      clock.now += heardAgo
    }
    await hold(online!, 2_000)
    await hold(stale!, STALE + 5_000)
    await hold(offline!, STALE + OFFLINE + 5_000)
    await hold(left!, 0)
    table.leave(left!.id, card('m').startedAt, 2n)
    table.announce(unsigned!.id, card('m'), 1n)
    await hold(known!, 0)
    await hold(forged!, 0, other!)
    await hold(other!, 0)
    const theirs = new Set([Buffer.from(memberDigest(known!.id)).toString('hex')])
    const out = await relay.relayFor(other!.id, theirs)
    const ids = out.map((c) => peerIdOf(c.author))
    expect(ids).toEqual([online!.id, stale!.id])
    expect(out.map((c) => c.age)).toEqual([2_000, STALE + 5_000])
    // and what it relays, a receiver takes
    const receiver = world(clock.now)
    const applied = await acc(receiver.relay, 'receiver', 'relayer', out)
    expect(applied.map((a) => a.record.id)).toEqual([online!.id, stale!.id])
    expect(receiver.table.get(online!.id)!.lastSeen).toBe(clock.now - 2_000)
  })

  it('lists the members it has online as 8-byte digests', async () => {
    const { table, relay } = world()
    const a = await author()
    table.announce(a.id, card('a'), 1n)
    const list = relay.digests()
    expect(Buffer.from(list)).toEqual(Buffer.from(memberDigest(a.id)))
    expect(parseDigests(list)).toEqual(new Set([Buffer.from(memberDigest(a.id)).toString('hex')]))
  })
})

function peerIdOf(bytes: Uint8Array): string {
  return peerIdFromMultihash(Digest.decode(bytes)).toString()
}

describe('member-exchange limits', () => {
  it('refuses a member list over the limit or not made of whole digests', () => {
    expect(() => parseDigests(new Uint8Array(MAX_MEMBER_DIGESTS * MEMBER_DIGEST_LENGTH))).not.toThrow()
    expect(() => parseDigests(new Uint8Array((MAX_MEMBER_DIGESTS + 1) * MEMBER_DIGEST_LENGTH))).toThrow(
      InvalidCardError,
    )
    expect(() => parseDigests(new Uint8Array(13))).toThrow(/whole digests/)
  })

  it('refuses more relayed cards than the limit, and frames over the frame limit', async () => {
    const x = await author()
    const one = await relayed(x, 1n)
    const small = { ...one, message: one.message.subarray(0, 8) as Uint8Array<ArrayBuffer> }
    // many small frames, together over the card limit
    const [a, b] = await streamPair()
    const writer = lpStream(a, { maxDataLength: MAX_EXCHANGE_FRAME })
    const perFrame = 200
    const frames = Math.ceil((MAX_RELAYED_CARDS + 1) / perFrame)
    const writing = (async () => {
      for (let i = 0; i < frames; i++) {
        await writer.write(RelayBatch.encode({ cards: Array(perFrame).fill(small), last: i === frames - 1 }))
      }
    })().catch(() => {})
    let accepted = 0
    await expect(
      readRelays(
        lpStream(b, { maxDataLength: MAX_EXCHANGE_FRAME }),
        async (cards) => {
          accepted += cards.length
        },
        {},
      ),
    ).rejects.toThrow(/more than 1024 relayed cards/)
    expect(accepted).toBeLessThanOrEqual(MAX_RELAYED_CARDS)
    a.abort(new Error('done'))
    await writing

    const [c, d] = await streamPair()
    const big = lpStream(c, { maxDataLength: 2 * MAX_EXCHANGE_FRAME })
    const sending = big.write(new Uint8Array(MAX_EXCHANGE_FRAME + 1)).catch(() => {})
    await expect(
      readRelays(lpStream(d, { maxDataLength: MAX_EXCHANGE_FRAME }), async () => {}, {}),
    ).rejects.toThrow()
    c.abort(new Error('done'))
    await sending
  })
})

describe('periodic member-list syncs', () => {
  it('sync every few seconds in the first minute, then once per 8 (stretched) heartbeat intervals', async () => {
    vi.useFakeTimers()
    try {
      let syncs = 0
      const sync = new MemberSync(
        async () => {
          syncs++
        },
        () => 30_000,
      )
      sync.start()
      await vi.advanceTimersByTimeAsync(EARLY_SYNC_FOR)
      // every 3 s ± 25 %
      expect(syncs).toBeGreaterThanOrEqual(Math.floor(EARLY_SYNC_FOR / (EARLY_SYNC_INTERVAL * 1.25)))
      expect(syncs).toBeLessThanOrEqual(Math.ceil(EARLY_SYNC_FOR / (EARLY_SYNC_INTERVAL * 0.75)))
      const early = syncs
      // every 8 x 30 s = 240 s ± 25 %: 8-14 in 2,400 s (not one per heartbeat: 80)
      const steady = 30_000 * STEADY_SYNC_HEARTBEATS
      await vi.advanceTimersByTimeAsync(10 * steady)
      expect(syncs - early).toBeGreaterThanOrEqual(7)
      expect(syncs - early).toBeLessThanOrEqual(14)
      sync.stop()
      const stopped = syncs
      await vi.advanceTimersByTimeAsync(600_000)
      expect(syncs).toBe(stopped)
    } finally {
      vi.useRealTimers()
    }
  })
})
