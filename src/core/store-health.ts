// The running node's view of its store: lost (data dir or store.db removed or replaced), full, damaged.
// It gates every acknowledgement and API answer, and reports each kind of trouble in the event log.

import type { DataDirPaths } from '../home/paths.js'
import { StoreFaultError, storeFault } from '../store/errors.js'
import { StoreGuard } from '../store/guard.js'
import type { EventLog } from './event-log.js'

/** How often the data dir, store.db and lock file are checked between acks, in ms. */
export const STORE_CHECK_INTERVAL = 1_000

export class StoreHealth {
  private guard?: StoreGuard
  private lost?: StoreFaultError
  private corruptReported = false

  constructor(
    private readonly paths: DataDirPaths,
    private readonly log: EventLog,
    /** called once when the store is found lost: the node must stop */
    private readonly onLost: (err: StoreFaultError) => void,
  ) {}

  /** Records the files as they are now (the store and lock are open) and checks them on a timer. */
  watch(intervalMs = STORE_CHECK_INTERVAL): void {
    this.guard = new StoreGuard(this.paths)
    this.guard.watch(intervalMs, (reason) => this.lose(reason))
  }

  stop(): void {
    this.guard?.stop()
  }

  /** The store is lost (checked now, by path): nothing may be acknowledged or answered as done. */
  problem(): StoreFaultError | undefined {
    if (this.lost == null) {
      const reason = this.guard?.check()
      if (reason != null) this.lose(reason)
    }
    return this.lost
  }

  /** False once the store is lost; what the tasks service asks before every ack. */
  canAck(): boolean {
    return this.problem() == null
  }

  /** A store failure as an error a person can act on (full disk, damaged file); reports damage once. */
  fault(err: unknown): StoreFaultError | undefined {
    const fault = storeFault(err, this.paths)
    if (fault?.kind === 'corrupt' && !this.corruptReported) {
      this.corruptReported = true
      this.log.emit(
        'store_corrupt',
        { path: this.paths.store, reason: (err as Error).message },
        fault.message,
        'error',
      )
    }
    return fault
  }

  private lose(reason: string): void {
    if (this.lost != null) return
    this.guard?.stop()
    this.lost = new StoreFaultError(
      'lost',
      `the store ${this.paths.store} is no longer the file this node opened: ${reason}; nothing more is acknowledged and the node stops`,
    )
    this.log.emit(
      'store_lost',
      { path: this.paths.store, reason },
      `${reason}: whatever is stored now would be gone at the next start, so nothing more is acknowledged; stopping`,
      'error',
    )
    this.onLost(this.lost)
  }
}
