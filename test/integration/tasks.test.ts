// The task protocol against misbehaving peers, full inboxes and TTLs, with nodes in one process.
import { lpStream } from '@libp2p/utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { TaskAcks, TaskFrame, TaskMessage, TaskStore } from '../../src/protocols/tasks/index.js'
import { seen, startNode, type TestMesh, testMesh } from '../helpers/in-process.js'

/** What the receiver said about one frame on a channel of its own. */
interface Answer {
  ok: boolean
  reason: string
}

function answer(acks: TaskAcks, seq: bigint): Answer {
  expect(acks.through).toBeGreaterThanOrEqual(seq)
  const refusal = acks.refused.find((r) => r.seq === seq)
  return { ok: refusal == null, reason: refusal?.reason ?? '' }
}

/** Sends one message as frame 1 of a new channel and reads the ack that covers it. */
async function exchange(
  from: Awaited<ReturnType<typeof startNode>>,
  to: Awaited<ReturnType<typeof startNode>>,
  message: Uint8Array,
  maxDataLength = 64 * 1024 * 1024,
): Promise<Answer> {
  const stream = await from.libp2p.dialProtocol(to.peerId, to.tasks.protocol)
  const lp = lpStream(stream, { maxDataLength })
  await lp.write(TaskFrame.encode({ seq: 1n, message: message as Uint8Array<ArrayBuffer> }))
  const acks = TaskAcks.decode(await lp.read())
  await stream.close()
  return answer(acks, 1n)
}

function delegateMessage(overrides: Partial<TaskMessage> = {}): TaskMessage {
  const id = TaskStore.newId()
  return {
    kind: TaskMessage.Kind.DELEGATE,
    msgId: id,
    taskId: id,
    task: 'do it',
    context: '',
    priority: TaskMessage.Priority.NORMAL,
    createdAt: BigInt(Date.now()),
    expiresAt: BigInt(Date.now() + 60_000),
    state: TaskMessage.State.UNSPECIFIED,
    result: '',
    reason: '',
    ...overrides,
  }
}

describe('task protocol (in-process nodes)', () => {
  let mesh: TestMesh
  afterEach(async () => {
    await mesh.cleanup()
  })

  it('refuses garbage, oversized and invalid messages with a reason, and keeps working', async () => {
    mesh = testMesh()
    const bob = await startNode(mesh, { name: 'bob', mdns: false, maxTaskSize: 4096 })
    const eve = await startNode(mesh, {
      name: 'eve',
      mdns: false,
      peers: [bob.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(() => expect(seen(bob)).toEqual(['eve']), { timeout: 10_000 })

    const garbage = await exchange(eve, bob, Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]))
    expect(garbage.ok).toBe(false)
    expect(garbage.reason).toMatch(/malformed message/)

    // a frame over the limit is refused from its length prefix alone
    const stream = await eve.libp2p.dialProtocol(bob.peerId, bob.tasks.protocol)
    const lp = lpStream(stream, { maxDataLength: 1 << 30 })
    await lp.write(new Uint8Array(4096 + 64 * 1024))
    const oversized = answer(TaskAcks.decode(await lp.read()), 1n)
    expect(oversized.reason).toMatch(/message over \d+ bytes/)

    const cases: Array<[Partial<TaskMessage>, RegExp]> = [
      [{ task: '' }, /empty task/],
      [{ task: 'x'.repeat(5000) }, /over 4096 bytes/],
      [{ context: '{not json' }, /context is not valid JSON/],
      [{ msgId: '../../etc', taskId: '../../etc' }, /invalid msg_id/],
      [{ expiresAt: 0n }, /invalid expiry/],
      [{ expiresAt: BigInt(Date.now() - 1000) }, /expired before it arrived/],
    ]
    for (const [overrides, reason] of cases) {
      const ack = await exchange(eve, bob, TaskMessage.encode(delegateMessage(overrides)))
      expect(ack.ok, String(reason)).toBe(false)
      expect(ack.reason).toMatch(reason)
    }
    // an update for a task eve never received from bob
    const update = delegateMessage({
      kind: TaskMessage.Kind.UPDATE,
      state: TaskMessage.State.COMPLETED,
      result: 'ha',
    })
    expect((await exchange(eve, bob, TaskMessage.encode(update))).reason).toMatch(/no task .* between us/)

    expect(bob.sink.events.filter((e) => e.event === 'task_invalid').length).toBeGreaterThanOrEqual(2)
    expect(bob.inbox.take(100, true)).toEqual([])

    // and a good one still works, exactly once even if replayed
    const good = delegateMessage({ task: 'a real task' })
    expect((await exchange(eve, bob, TaskMessage.encode(good))).ok).toBe(true)
    expect((await exchange(eve, bob, TaskMessage.encode(good))).ok).toBe(true)
    const events = bob.inbox.take(100, false)
    expect(events.map((e) => [e.id, e.task, e.from.id])).toEqual([
      [good.taskId, 'a real task', eve.peerId.toString()],
    ])
  })

  it('rejects tasks past the per-sender inbox bound and tells the delegator why', async () => {
    mesh = testMesh()
    const bob = await startNode(mesh, { name: 'bob', mdns: false, maxInbox: 2 })
    const alice = await startNode(mesh, {
      name: 'alice',
      mdns: false,
      peers: [bob.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(() => expect(seen(alice)).toEqual(['bob']), { timeout: 10_000 })
    const rows = await Promise.all(
      [1, 2, 3].map((i) =>
        alice.tasks.delegate({
          peer: bob.peerId.toString(),
          peerName: 'bob',
          task: `t${i}`,
          context: null,
          priority: 'normal',
          ttl: 60_000,
        }),
      ),
    )
    await vi.waitFor(
      () => {
        const states = rows.map((r) => alice.taskStore.get('sent', r.peer, r.id)!.state)
        expect(states.filter((s) => s === 'delivered')).toHaveLength(2)
        expect(states.filter((s) => s === 'rejected')).toHaveLength(1)
      },
      { timeout: 10_000 },
    )
    const rejected = alice.inbox.take(10, false).find((e) => e.state === 'rejected')
    expect(rejected?.reason).toMatch(/inbox full: 2 tasks from you are still open \(limit 2\)/)
    expect(bob.inbox.take(10, false)).toHaveLength(2)
  })

  it('expires a task it could not deliver within its TTL and tells the delegator', async () => {
    mesh = testMesh()
    const alice = await startNode(mesh, { name: 'alice', mdns: false })
    const bob = await startNode(mesh, {
      name: 'bob',
      mdns: false,
      peers: [alice.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(() => expect(seen(alice)).toEqual(['bob']), { timeout: 10_000 })
    const bobId = bob.peerId.toString()
    await bob.stop()
    const row = await alice.tasks.delegate({
      peer: bobId,
      peerName: 'bob',
      task: 'in time?',
      context: null,
      priority: 'urgent',
      ttl: 1500,
    })
    const events = await vi.waitFor(
      () => {
        const got = alice.inbox.take(10, true)
        expect(got).toHaveLength(1)
        return got
      },
      { timeout: 10_000, interval: 100 },
    )
    expect(events[0]).toMatchObject({ type: 'task_update', id: row.id, state: 'expired', priority: 'urgent' })
    expect(events[0]!.reason).toMatch(/not delivered before its TTL ran out/)
    expect(alice.taskStore.get('sent', bobId, row.id)!.state).toBe('expired')
    expect(alice.taskStore.outboxSize()).toBe(0)
    expect(alice.sink.events.some((e) => e.event === 'task_expired')).toBe(true)
  })

  it('pipelines a burst on one channel, commits it in groups, and opens the channel again after a drop', async () => {
    mesh = testMesh()
    const bob = await startNode(mesh, { name: 'bob', mdns: false, maxInbox: 10_000, taskRate: 100_000 })
    const alice = await startNode(mesh, {
      name: 'alice',
      mdns: false,
      peers: [bob.libp2p.getMultiaddrs()[0]!.toString()],
    })
    await vi.waitFor(() => expect(seen(alice)).toEqual(['bob']), { timeout: 10_000 })
    const send = (n: number, from: number) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          alice.tasks.delegate({
            peer: bob.peerId.toString(),
            peerName: 'bob',
            task: `t${from + i}`,
            context: null,
            priority: 'normal',
            ttl: 300_000,
          }),
        ),
      )
    const channels = () =>
      bob.libp2p
        .getConnections(alice.peerId)
        .flatMap((c) => c.streams)
        .filter((st) => st.protocol === bob.tasks.protocol).length
    let most = 0
    const sample = setInterval(() => {
      most = Math.max(most, channels())
    }, 5)
    const commitsBefore = bob.tasks.commits.stats.commits
    const workBefore = alice.tasks.commits.stats.work
    const first = await send(300, 0)
    await vi.waitFor(() => expect(bob.inbox.unseenCount()).toBe(300), { timeout: 20_000, interval: 50 })
    clearInterval(sample)
    // one stream carried them all, and far fewer commits than messages stored them
    expect(most).toBe(1)
    expect(bob.tasks.commits.stats.commits - commitsBefore).toBeLessThan(100)
    await vi.waitFor(() => expect(alice.taskStore.outboxSize()).toBe(0), { timeout: 10_000 })
    // the sender records what one ack frame settled in one piece of work, not one per message
    const ackPieces = alice.tasks.commits.stats.work - workBefore - 300
    expect(ackPieces).toBeGreaterThan(0)
    expect(ackPieces).toBeLessThan(100)

    // the connection drops: the next messages open a new channel on a new connection
    await alice.libp2p.hangUp(bob.peerId)
    const second = await send(50, 300)
    await vi.waitFor(() => expect(bob.inbox.unseenCount()).toBe(350), { timeout: 30_000, interval: 50 })
    const got = bob.inbox.take(1000, false).map((e) => e.id)
    expect(new Set(got)).toEqual(new Set([...first, ...second].map((r) => r.id)))
    expect(got).toHaveLength(350)
    await vi.waitFor(
      () => expect(alice.taskStore.list().filter((r) => r.state !== 'delivered')).toEqual([]),
      { timeout: 10_000 },
    )
  }, 60_000)
})
