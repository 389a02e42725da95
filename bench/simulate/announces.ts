// Why each presence announcement is published, counted process-wide by reason: a diagnostic for the
// harness (SIM_ANNOUNCES=1), which wraps the Presence class of the build; the node never does. Reasons:
// `start`, `heartbeat`, `soon < CALLER` (an announceSoon that fired, with who asked for it first, e.g.
// hub-seeker's own-address updates or a first topic peer) and `direct < CALLER` (register, a card
// change, `clawlink heartbeat`). Issue 17: which path published more than the heartbeat pace allows.

export type AnnounceCounts = Record<string, number>

interface Traced {
  announceSoonTimer?: unknown
  started: boolean
  stopping: boolean
  /** the caller of the announceSoon whose timer is pending */
  pendingSoon?: string
}

type Method = (this: Traced, ...args: unknown[]) => unknown

/** The first `n` callers in `stack` (after the wrapper), as `function@file`. */
function callers(stack: string | undefined, n: number): string {
  return (stack ?? '')
    .split('\n')
    .slice(2)
    .filter((l) => !l.includes('node:internal') && !l.includes('announces.ts'))
    .slice(0, n)
    .map((l) => {
      const m = /at (?:async )?(\S+) \(.*\/([^/]+?):\d+:\d+\)/.exec(l)
      return m != null ? `${m[1]}@${m[2]}` : l.trim().replace(/^at /, '')
    })
    .join(' < ')
}

/** Wraps `Presence` (and the Heartbeat it schedules with) so each announce() is counted in the result. */
export function countAnnounces(
  Presence: { prototype: object },
  Heartbeat: { prototype: object },
): AnnounceCounts {
  const counts: AnnounceCounts = {}
  let current: string | undefined
  const wrap = (proto: object, name: string, make: (orig: Method) => Method) => {
    const p = proto as Record<string, Method>
    p[name] = make(p[name]!)
  }
  // announce() records its reason synchronously, on entry, so a flag set around a call is seen
  const during = (reason: string) => (orig: Method) =>
    function (this: Traced, ...args: unknown[]) {
      current = reason
      try {
        return orig.apply(this, args)
      } finally {
        current = undefined
      }
    }
  wrap(Presence.prototype, 'afterStart', during('start'))
  wrap(Heartbeat.prototype, 'fire', during('heartbeat'))
  wrap(
    Presence.prototype,
    'announceSoon',
    (orig) =>
      function (this: Traced, ...args) {
        if (this.announceSoonTimer == null && this.started && !this.stopping)
          this.pendingSoon = callers(new Error().stack, 3)
        return orig.apply(this, args)
      },
  )
  wrap(
    Presence.prototype,
    'announce',
    (orig) =>
      function (this: Traced, ...args) {
        if (this.started && !this.stopping) {
          let reason = current
          // announceSoon's timer clears its handle, then announces
          if (reason == null && this.pendingSoon != null && this.announceSoonTimer == null) {
            reason = `soon < ${this.pendingSoon}`
            this.pendingSoon = undefined
          }
          reason ??= `direct < ${callers(new Error().stack, 3)}`
          counts[reason] = (counts[reason] ?? 0) + 1
        }
        return orig.apply(this, args)
      },
  )
  return counts
}
