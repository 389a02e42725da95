// A task's messages reach the peer in the order they were queued, also when their retry times (each
// with its own jitter) fall due in another order: the delivery loop holds a message back while an older
// one of the same task has not been handed to the channel yet. The channel runs over a real in-memory
// stream pair; the peer is a small receiver that records what it reads and acks it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream, streamPair } from '@libp2p/utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Delivery } from '../../src/protocols/tasks/delivery.js'
import { TaskAcks, TaskFrame, TaskMessage } from '../../src/protocols/tasks/pb/task.js'
import { reply } from '../../src/protocols/tasks/replies.js'
import type { TaskRow } from '../../src/protocols/tasks/task-rows.js'
import { TaskStore } from '../../src/protocols/tasks/task-store.js'
import { Store } from '../../src/store/database.js'

let dir: string
let store: Store
let tasks: TaskStore
let delivery: Delivery
let peer: string
/** what the receiver read, in order: the DELEGATE's task or a REPLY's text */
let received: string[]
/** openStream calls left to fail before streams open */
let failOpens: number
let opened: Stream[]

async function receive(stream: Stream): Promise<void> {
  const lp = lpStream(stream)
  try {
    for (;;) {
      const frame = TaskFrame.decode(await lp.read())
      const msg = TaskMessage.decode(frame.message)
      received.push(msg.kind === TaskMessage.Kind.DELEGATE ? msg.task : (msg.text ?? ''))
      await lp.write(TaskAcks.encode({ through: frame.seq, refused: [] }))
    }
  } catch {
    // the stream ended with the test
  }
}

const connectionManager = {
  async openStream(): Promise<Stream> {
    if (failOpens > 0) {
      failOpens--
      throw new Error('peer unreachable')
    }
    const [outbound, inbound] = await streamPair()
    opened.push(outbound, inbound)
    void receive(inbound)
    return outbound
  },
} as unknown as ConnectionManager

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'clawlink-delivery-order-'))
  store = new Store(join(dir, 'store.db'))
  tasks = new TaskStore({ db: store.db, onEvent: () => {} })
  peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  received = []
  failOpens = 0
  opened = []
  delivery = new Delivery({
    store: tasks,
    protocol: '/test/tasks',
    connectionManager,
    log: defaultLogger().forComponent('test:delivery'),
    write: async (fn) => fn(),
    dispatch: () => {},
    changed: () => {},
  })
  tasks.onOutbox((row) => delivery.offer(row))
})

afterEach(() => {
  vi.restoreAllMocks()
  delivery.stop()
  for (const s of opened) s.abort(new Error('test over'))
  store.close()
  rmSync(dir, { recursive: true, force: true })
})

/** A task for `peer`: its DELEGATE is queued in the outbox. */
const newTask = (task: string): TaskRow =>
  tasks.delegate({ peer, peerName: 'bob', task, context: null, priority: 'normal', ttl: 60_000 })

/** A task for `peer` with three replies queued behind its DELEGATE: four messages of one task. */
function taskWithReplies(): TaskRow {
  const row = newTask('plan')
  for (const text of ['one', 'two', 'three']) reply(tasks, row, text)
  return row
}

const outbox = () => tasks.dueFor(peer, 100)

describe('delivery order within a task', () => {
  it('a newer message due before an older one waits for it', async () => {
    taskWithReplies()
    const [delegate, one] = outbox()
    // the DELEGATE and 'one' wait out a retry; 'two' and 'three' are due now
    tasks.retryLater(delegate!, Date.now() + 60_000, 'earlier failure')
    tasks.retryLater(one!, Date.now() + 30_000, 'earlier failure')
    delivery.start()
    delivery.wake()
    // the peer comes back: everything is due, and goes out in the order it was queued
    delivery.kick(peer)
    await vi.waitFor(() => expect(received).toHaveLength(4), { timeout: 5_000 })
    expect(received).toEqual(['plan', 'one', 'two', 'three'])
    await vi.waitFor(() => expect(tasks.outboxSize()).toBe(0))
  })

  it('a message queued while an older one of its task backs off goes out behind it', async () => {
    const row = newTask('plan')
    tasks.retryLater(outbox()[0]!, Date.now() + 60_000, 'earlier failure')
    delivery.start()
    // committed and offered at once by the outbox listener: it must not overtake the DELEGATE
    reply(tasks, row, 'one')
    delivery.kick(peer)
    await vi.waitFor(() => expect(received).toHaveLength(2), { timeout: 5_000 })
    expect(received).toEqual(['plan', 'one'])
  })

  it('after a failed channel, retry jitter that favours the newest message does not reorder', async () => {
    taskWithReplies()
    // the first attempt fails; each message then gets its own retry time, the newest the soonest
    failOpens = 1
    const jitter = [0.99, 0.66, 0.33, 0]
    vi.spyOn(Math, 'random').mockImplementation(() => jitter.shift() ?? 0.5)
    delivery.start()
    await vi.waitFor(() => expect(received).toHaveLength(4), { timeout: 10_000 })
    expect(received).toEqual(['plan', 'one', 'two', 'three'])
    expect(jitter).toEqual([])
    await vi.waitFor(() => expect(tasks.outboxSize()).toBe(0))
  })

  it('messages of different tasks do not wait for each other', async () => {
    newTask('a')
    newTask('b')
    const [delegateA] = outbox()
    tasks.retryLater(delegateA!, Date.now() + 60_000, 'earlier failure')
    delivery.start()
    delivery.wake()
    await vi.waitFor(() => expect(received).toEqual(['b']), { timeout: 5_000 })
    // b is acked and gone; a waits for its own retry time
    await vi.waitFor(() => expect(tasks.outboxSize()).toBe(1))
  })
})
