// A task's messages reach the peer in the order they were queued, also when their retry times (each
// with its own jitter) fall due in another order: the delivery loop holds a message back while an older
// one of the same task has not been handed to the channel yet. The loop runs over a real store and
// in-memory streams (test/helpers/delivery-rig.ts).
import { describe, expect, it, vi } from 'vitest'
import { reply } from '../../src/protocols/tasks/replies.js'
import { rigPerTest } from '../helpers/delivery-rig.js'

const current = rigPerTest()

describe('delivery order within a task', () => {
  it('a newer message due before an older one waits for it', async () => {
    const rig = current()
    rig.taskWithReplies()
    const [delegate, one] = rig.outbox()
    // the DELEGATE and 'one' wait out a retry; 'two' and 'three' are due now
    rig.tasks.retryLater(delegate!, Date.now() + 60_000, 'earlier failure')
    rig.tasks.retryLater(one!, Date.now() + 30_000, 'earlier failure')
    rig.delivery.start()
    rig.delivery.wake()
    // the peer comes back: everything is due, and goes out in the order it was queued
    rig.delivery.kick(rig.peer)
    await vi.waitFor(() => expect(rig.received).toHaveLength(4), { timeout: 5_000 })
    expect(rig.received).toEqual(['plan', 'one', 'two', 'three'])
    await vi.waitFor(() => expect(rig.tasks.outboxSize()).toBe(0))
  })

  it('a message queued while an older one of its task backs off goes out behind it', async () => {
    const rig = current()
    const row = rig.newTask('plan')
    rig.tasks.retryLater(rig.outbox()[0]!, Date.now() + 60_000, 'earlier failure')
    rig.delivery.start()
    // committed and offered at once by the outbox listener: it must not overtake the DELEGATE
    reply(rig.tasks, row, 'one')
    rig.delivery.kick(rig.peer)
    await vi.waitFor(() => expect(rig.received).toHaveLength(2), { timeout: 5_000 })
    expect(rig.received).toEqual(['plan', 'one'])
  })

  it('after a failed channel, retry jitter that favours the newest message does not reorder', async () => {
    const rig = current()
    rig.taskWithReplies()
    // the first attempt fails; each message then gets its own retry time, the newest the soonest
    rig.failOpens = 1
    const jitter = [0.99, 0.66, 0.33, 0]
    vi.spyOn(Math, 'random').mockImplementation(() => jitter.shift() ?? 0.5)
    rig.delivery.start()
    await vi.waitFor(() => expect(rig.received).toHaveLength(4), { timeout: 10_000 })
    expect(rig.received).toEqual(['plan', 'one', 'two', 'three'])
    expect(jitter).toEqual([])
    await vi.waitFor(() => expect(rig.tasks.outboxSize()).toBe(0))
  })

  it('messages of different tasks do not wait for each other', async () => {
    const rig = current()
    rig.newTask('a')
    rig.newTask('b')
    const [delegateA] = rig.outbox()
    rig.tasks.retryLater(delegateA!, Date.now() + 60_000, 'earlier failure')
    rig.delivery.start()
    rig.delivery.wake()
    await vi.waitFor(() => expect(rig.received).toEqual(['b']), { timeout: 5_000 })
    // b is acked and gone; a waits for its own retry time
    await vi.waitFor(() => expect(rig.tasks.outboxSize()).toBe(1))
  })
})
