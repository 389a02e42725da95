// A clean stop is bounded. A node that cannot finish leaving the mesh (a peer that never answers, a
// close that never completes) exits anyway once the deadline passes, after saying what it was waiting
// for. Nothing is lost by that: every task, response and file version is committed before anyone is
// told it was taken (the node survives kill -9 at any moment), so skipping the rest of a stop is safe.
import type { EventLog } from '../core/index.js'

/** How long a clean stop may take before the node exits without finishing it. */
export const STOP_DEADLINE_MS = 20_000

/** The exit code of a node whose clean stop passed its deadline. */
export const STOP_DEADLINE_EXIT_CODE = 1

export interface StopDeadlineInit {
  log: EventLog
  /** what the stop is waiting for now (ClawLinkNode.stopStage) */
  stage: () => string
  /** process.exit, injected so a test can watch it */
  exit: (code: number) => void
  deadlineMs?: number
}

/** Starts the deadline of a stop now; call the returned function once the stop has finished. */
export function stopDeadline(init: StopDeadlineInit): () => void {
  const ms = init.deadlineMs ?? STOP_DEADLINE_MS
  const timer = setTimeout(() => {
    const stage = init.stage()
    init.log.emit(
      'stop_forced',
      { reason: 'timeout', stage, afterMs: ms },
      `the clean stop did not finish in ${ms / 1000} s (still stopping ${stage}): exiting without it`,
      'warn',
    )
    init.log.flush()
    init.exit(STOP_DEADLINE_EXIT_CODE)
  }, ms)
  // the deadline alone never keeps a finished process alive
  timer.unref?.()
  return () => clearTimeout(timer)
}
