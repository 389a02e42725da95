// A simulated network (bench/simulate) for a test, on the virtual clock if asked, closed after the test.
import { expect } from 'vitest'
import type { SimNetwork } from '../../bench/simulate/network.js'
import { VirtualClock } from '../../bench/simulate/virtual-clock.js'

export class SimFixture {
  net: SimNetwork | undefined
  private clock: VirtualClock | undefined

  /**
   * Runs the test in virtual time. 2 real ms of quiet before each step: on a loaded host (CI) work that
   * no resource list shows could otherwise still be running when the clock jumps past its timeouts.
   */
  virtualTime(): void {
    this.clock = new VirtualClock(2).install()
    void this.clock.drive()
  }

  /** Builds a network and fails the test with `why` unless `formed` says it formed. */
  async form(
    build: () => Promise<SimNetwork>,
    formed: (net: SimNetwork) => Promise<boolean>,
    why: (net: SimNetwork) => string,
  ): Promise<SimNetwork> {
    this.net = await build()
    expect(await formed(this.net), why(this.net)).toBe(true)
    return this.net
  }

  async cleanup(): Promise<void> {
    await this.net?.close()
    this.net = undefined
    this.clock?.uninstall()
    this.clock = undefined
  }
}
