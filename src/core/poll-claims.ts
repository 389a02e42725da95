// Polls waiting for events take them inside the transaction that appends them: the event's row and its
// hand-out commit together, under one fsync, and the poll is answered once that commit is on disk (a
// second commit just for the hand-out would double the time from a task's arrival to the agent).
import type { DatabaseSync } from 'node:sqlite'
import type { EventJson, EventType } from '../api/types.js'
import { afterCommit, afterRollback, currentTransaction } from '../store/transaction.js'

/** How a wait ended: with events taken for it (on disk), woken to look again, or its time/caller gone. */
export type WaitOutcome = { events: EventJson[] } | { woken: true } | { ended: true }

export interface WaitOptions {
  limit: number
  /** only events of these types (all when absent) */
  types?: EventType[]
  /** a peek takes nothing; it is only woken when events arrive */
  peek: boolean
  ms: number
  signal?: AbortSignal
}

export interface Claim {
  limit: number
  types?: ReadonlySet<string>
  peek: boolean
  /** taken in the open transaction, answered when it is on disk */
  events: EventJson[]
  /** the transaction its events belong to: a claim never spans two commits */
  tx?: object
  /** its time ran out or its caller left while it had events pending: it takes no more */
  quitting: boolean
  end: (outcome: WaitOutcome) => void
}

export class PollClaims {
  private readonly waiting = new Set<Claim>()

  constructor(private readonly db: DatabaseSync) {}

  /** Polls waiting now. */
  get size(): number {
    return this.waiting.size
  }

  /** Waits for events appended for this poll, a wake-up, the end of `ms`, or the signal. */
  wait(opts: WaitOptions): Promise<WaitOutcome> {
    return new Promise<WaitOutcome>((resolve) => {
      const quit = () => {
        // events taken in a commit still in flight are answered by it (or given up by its rollback)
        if (claim.events.length > 0) claim.quitting = true
        else claim.end({ ended: true })
      }
      const claim: Claim = {
        limit: opts.limit,
        types: opts.types != null && opts.types.length > 0 ? new Set(opts.types) : undefined,
        peek: opts.peek,
        events: [],
        quitting: false,
        end: (outcome) => {
          if (!this.waiting.delete(claim)) return
          clearTimeout(timer)
          opts.signal?.removeEventListener('abort', quit)
          resolve(outcome)
        },
      }
      this.waiting.add(claim)
      const timer = setTimeout(quit, Math.max(0, opts.ms))
      opts.signal?.addEventListener('abort', quit)
      if (opts.signal?.aborted === true) quit()
    })
  }

  /**
   * Inside the transaction that is appending `event` (before its row is written, so the row can be
   * written already held): the waiting poll that would take it, if any. Give it the event with give().
   */
  taker(event: Pick<EventJson, 'type'>): Claim | undefined {
    const tx = currentTransaction(this.db)
    for (const claim of this.waiting) {
      if (claim.peek || claim.quitting) continue
      if (claim.types != null && !claim.types.has(event.type)) continue
      if (claim.events.length > 0 && (claim.tx !== tx || tx == null || claim.events.length >= claim.limit))
        continue
      return claim
    }
    return undefined
  }

  /**
   * Hands `event` to the claim taker() named, in the same transaction. It is answered once that
   * transaction's commit hooks run; a rollback (of the transaction, or of the savepoint the event was
   * appended in) takes the event back from it.
   */
  give(claim: Claim, event: EventJson): void {
    claim.tx = currentTransaction(this.db)
    claim.events.push(event)
    afterRollback(this.db, () => {
      claim.events = claim.events.filter((e) => e !== event)
      if (claim.events.length > 0) return
      claim.tx = undefined
      if (claim.quitting) claim.end({ ended: true })
    })
    afterCommit(this.db, () => {
      if (claim.events.length > 0) claim.end({ events: claim.events })
    })
  }

  /** Events were appended or given back: waits holding nothing look again. */
  wake(): void {
    for (const claim of [...this.waiting]) if (claim.events.length === 0) claim.end({ woken: true })
  }
}
