// When this node's next presence heartbeat falls due. The interval stretches with the members a node
// knows (PeerTable.heartbeatInterval), and that count moves: a node knows few members when it starts
// and the whole mesh a second later. So the interval is the one in force when the heartbeat falls due,
// not when it was armed (issue 17: armed at the start announcement, first heartbeats came at the pace
// of the few members known then; in a 200-node simulation they were all 48 distinct presence messages
// of an idle minute, where the design allows 40).

/**
 * Schedules heartbeats one interval after the last announcement, the interval as it is at that time.
 * The first one after start falls due at a random point between half and one and a half intervals:
 * nodes started together then spread their heartbeats evenly over an interval instead of sending
 * them all at once, and keep those places afterwards. A gap between heartbeats is thus at most 1.5
 * intervals once and one interval after that, well within the stale time (4 intervals).
 */
export class Heartbeat {
  private timer?: ReturnType<typeof setTimeout>
  private last = 0
  /** Intervals after an announcement at which the heartbeat is due: random until the first one. */
  private factor = 0.5 + Math.random()

  constructor(
    /** the heartbeat interval in force now */
    private readonly interval: () => number,
    /** announces (and so calls announced()) */
    private readonly beat: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** An announcement went out now: the next heartbeat falls due one interval after it. */
  announced(): void {
    this.last = this.now()
    this.arm()
  }

  /** Beats now if a heartbeat is overdue: the interval shrinks when members leave or go offline. */
  check(): void {
    if (this.timer != null && this.now() >= this.due()) this.fire()
  }

  stop(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private due(): number {
    return this.last + this.factor * this.interval()
  }

  private arm(): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.fire(), Math.max(0, Math.ceil(this.due() - this.now())))
  }

  private fire(): void {
    // the mesh grew since the timer was armed: wait for the interval it has now
    if (this.now() < this.due()) {
      this.arm()
      return
    }
    this.stop()
    this.factor = 1
    this.beat()
  }
}
