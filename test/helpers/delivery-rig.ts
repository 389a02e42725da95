// A delivery loop (src/protocols/tasks/delivery.ts) over a real task store and real in-memory streams:
// the peer is a small receiver that records what it reads and acks it. `failOpens` makes the next
// openStream calls fail, as if the peer were unreachable.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream, streamPair } from '@libp2p/utils'
import { afterEach, beforeEach, vi } from 'vitest'
import { Delivery } from '../../src/protocols/tasks/delivery.js'
import { TaskAcks, TaskFrame, TaskMessage } from '../../src/protocols/tasks/pb/task.js'
import { reply } from '../../src/protocols/tasks/replies.js'
import type { TaskRow } from '../../src/protocols/tasks/task-rows.js'
import { TaskStore } from '../../src/protocols/tasks/task-store.js'
import { Store } from '../../src/store/database.js'

export interface DeliveryRig {
  delivery: Delivery
  tasks: TaskStore
  peer: string
  /** what the receiver read, in order: the DELEGATE's task or a REPLY's text */
  received: string[]
  /** openStream calls left to fail before streams open */
  failOpens: number
  /** openStream calls made */
  opens: number
  /** A task for the peer: its DELEGATE is queued in the outbox. */
  newTask(task: string): TaskRow
  /** A task with three replies queued behind its DELEGATE: four messages of one task. */
  taskWithReplies(): TaskRow
  /** The peer's messages due now, oldest first. */
  outbox(): ReturnType<TaskStore['dueFor']>
  close(): void
}

/** `now`: the task store's clock (default Date.now). */
export async function deliveryRig(opts: { now?: () => number } = {}): Promise<DeliveryRig> {
  const dir = mkdtempSync(join(tmpdir(), 'clawlink-delivery-'))
  const store = new Store(join(dir, 'store.db'))
  const tasks = new TaskStore({ db: store.db, onEvent: () => {}, now: opts.now })
  const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  const opened: Stream[] = []

  async function receive(stream: Stream): Promise<void> {
    const lp = lpStream(stream)
    try {
      for (;;) {
        const frame = TaskFrame.decode(await lp.read())
        const msg = TaskMessage.decode(frame.message)
        rig.received.push(msg.kind === TaskMessage.Kind.DELEGATE ? msg.task : (msg.text ?? ''))
        await lp.write(TaskAcks.encode({ through: frame.seq, refused: [] }))
      }
    } catch {
      // the stream ended with the test
    }
  }

  const connectionManager = {
    async openStream(): Promise<Stream> {
      rig.opens++
      if (rig.failOpens > 0) {
        rig.failOpens--
        throw new Error('peer unreachable')
      }
      const [outbound, inbound] = await streamPair()
      opened.push(outbound, inbound)
      void receive(inbound)
      return outbound
    },
  } as unknown as ConnectionManager

  const delivery = new Delivery({
    store: tasks,
    protocol: '/test/tasks',
    connectionManager,
    log: defaultLogger().forComponent('test:delivery'),
    write: async (fn) => fn(),
    dispatch: () => {},
    changed: () => {},
  })
  tasks.onOutbox((row) => delivery.offer(row))

  const newTask = (task: string): TaskRow =>
    tasks.delegate({ peer, peerName: 'bob', task, context: null, priority: 'normal', ttl: 60_000 })

  const rig: DeliveryRig = {
    delivery,
    tasks,
    peer,
    received: [],
    failOpens: 0,
    opens: 0,
    newTask,
    taskWithReplies() {
      const row = newTask('plan')
      for (const text of ['one', 'two', 'three']) reply(tasks, row, text)
      return row
    },
    outbox: () => tasks.dueFor(peer, 100),
    close() {
      delivery.stop()
      for (const s of opened) s.abort(new Error('test over'))
      store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  return rig
}

/** A fresh rig for each test of the calling file (closed, and mocks restored, after it). */
export function rigPerTest(): () => DeliveryRig {
  let rig: DeliveryRig | undefined
  beforeEach(async () => {
    rig = await deliveryRig()
  })
  afterEach(() => {
    vi.restoreAllMocks()
    rig?.close()
    rig = undefined
  })
  return () => rig!
}
