// A token bucket per key (an author, a peer): BURST at once, then RATE per second. Shared by the protocols.
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>()

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes `cost` tokens (one message, or its bytes) for `key`; false when the key is over its rate. */
  take(key: string, cost = 1): boolean {
    const now = this.now()
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate)
    b.at = now
    // Take the token before evicting: a new key's bucket is still full, and would be forgotten with it.
    const ok = b.tokens >= cost
    if (ok) b.tokens -= cost
    this.buckets.set(key, b)
    if (this.buckets.size > 10_000) this.evictFull()
    return ok
  }

  /** Forgets keys whose bucket is full again, so the map stays small. */
  private evictFull(): void {
    const now = this.now()
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.rate >= this.burst) this.buckets.delete(key)
    }
  }
}
