// A finished command exits: nothing it did is left to finish (a node commits everything before it
// acknowledges it), so whatever still holds the event loop after that must not keep the process alive.

/** How long a finished command may take to exit while its output is all written (ms). */
export const EXIT_GRACE_MS = 2_000

export interface ExitWhenStuckInit {
  code: number
  /** stdout: output still queued for a slow reader is waited for, never cut off */
  out: { writableLength: number }
  err: { write(text: string): unknown }
  exit: (code: number) => void
  /** what holds the event loop (process.getActiveResourcesInfo) */
  held?: () => string[]
  graceMs?: number
}

/**
 * Twice on Node 24 in CI, a node logged `stopped` and its process was still there 30 s later: the flush
 * of stdout never called back and something held the event loop. After the grace the command exits
 * anyway and says what held it. The timer is unref'd: it never keeps a process alive by itself.
 */
export function exitWhenStuck(init: ExitWhenStuckInit): void {
  const grace = init.graceMs ?? EXIT_GRACE_MS
  setTimeout(() => {
    if (init.out.writableLength > 0) {
      exitWhenStuck(init)
      return
    }
    const held = (init.held ?? (() => process.getActiveResourcesInfo()))()
    init.err.write(
      `clawlink: still running ${grace / 1000} s after finishing (held by ${held.join(', ') || 'nothing listed'}): exiting\n`,
    )
    init.exit(init.code)
  }, grace).unref()
}
