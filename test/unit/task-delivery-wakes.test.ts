// The delivery loop hands every due message to its channel without waiting for its 60 s safety-net
// wake. A kill -9 test once waited 60 s for the last task of a burst: the loop's timer fired a
// millisecond before the backoff's end, so its pass offered the burst but read the clock again to find
// the next wake, by when the failed task was due: counted as handed over by the one, not yet due by the
// other. The peer's reconnect a moment later found no retry to bring forward, and offered nothing.
import { describe, expect, it, vi } from 'vitest'
import { deliveryRig, rigPerTest } from '../helpers/delivery-rig.js'

const current = rigPerTest()

/** Starts the loop with `task` failing once after many attempts: the peer backs off about a minute. */
async function backingOff(task: string) {
  const rig = current()
  rig.newTask(task)
  const [row] = rig.outbox()
  for (let i = 0; i < 10; i++) rig.tasks.retryLater(row!, Date.now(), 'earlier failure')
  rig.failOpens = 1
  rig.delivery.start()
  // the failure is recorded: the message waits out its retry, about a minute away
  await vi.waitFor(() => expect(rig.outbox()).toHaveLength(0), { timeout: 5_000 })
  expect(rig.opens).toBe(1)
  return row!
}

describe('delivery loop wakes', () => {
  it('a reconnect hands over what was queued during the backoff, though no retry is still to come', async () => {
    const rig = current()
    const a = await backingOff('a')
    // queued while the peer backs off: committed and offered, but held back
    rig.newTask('b')
    // the failed message's retry time has come (as when the loop's timer is about to fire)
    rig.tasks.retryLater(a, Date.now() - 1, 'earlier failure')
    expect(rig.outbox()).toHaveLength(2)
    rig.delivery.kick(rig.peer)
    await vi.waitFor(() => expect(rig.received).toEqual(['a', 'b']), { timeout: 5_000 })
    expect(rig.opens).toBe(2)
  })

  it('a wake that comes before the backoff ends wakes again when it ends', async () => {
    const rig = current()
    const a = await backingOff('a')
    rig.newTask('b')
    // the timer fires a little early: the retry time has come, the backoff's end not quite
    rig.tasks.retryLater(a, Date.now() - 1, 'earlier failure')
    const backoffs = (rig.delivery as unknown as { backoffUntil: Map<string, number> }).backoffUntil
    backoffs.set(rig.peer, Date.now() + 300)
    rig.delivery.wake()
    expect(rig.received).toEqual([])
    await vi.waitFor(() => expect(rig.received).toEqual(['a', 'b']), { timeout: 5_000 })
  })

  it('a retry falling due while a pass runs is offered by it or sets the next wake', async () => {
    // a busy clock: each reading is 5 ms after the one before. The retry falls due between two
    // readings of a pass; over the first eight gaps, whichever ones a pass reads across.
    for (let gap = 1; gap <= 8; gap++) {
      let clock = Date.now()
      const one = await deliveryRig({ now: () => (clock += 5) })
      try {
        one.newTask(`gap ${gap}`)
        const [row] = one.tasks.dueFor(one.peer, 10)
        one.tasks.retryLater(row!, clock + 5 * gap - 2, 'earlier failure')
        // the pass at start reads the clock from here on
        one.delivery.start()
        // far below the 60 s the loop sleeps when it thinks nothing is due
        await vi.waitFor(() => expect(one.received).toEqual([`gap ${gap}`]), { timeout: 3_000 })
      } finally {
        one.close()
      }
    }
  })
})
