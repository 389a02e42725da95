// Notices when the files a running node holds open are no longer the ones at their paths: its data dir,
// store.db or lock file removed (rm -rf) or replaced (mv over). SQLite keeps writing into the open,
// unlinked file then, so every commit after that is lost at the next start; an ack must not follow it.
import { statSync } from 'node:fs'
import type { DataDirPaths } from '../home/paths.js'

interface Mark {
  label: string
  path: string
  dev: bigint
  ino: bigint
}

export class StoreGuard {
  private readonly marks: Mark[]
  private lostReason?: string
  private timer?: ReturnType<typeof setInterval>

  /** Records the identity (device and inode) of the data dir, store.db and the lock file as they are now. */
  constructor(paths: Pick<DataDirPaths, 'root' | 'store' | 'lock'>) {
    const targets = [
      { label: 'the data dir', path: paths.root },
      { label: 'the store', path: paths.store },
      { label: 'the lock file', path: paths.lock },
    ]
    this.marks = targets.map((t) => {
      const s = statSync(t.path, { bigint: true })
      return { ...t, dev: s.dev, ino: s.ino }
    })
  }

  /** Why the store is lost, or undefined while every path still names the file the node opened. */
  check(): string | undefined {
    if (this.lostReason != null) return this.lostReason
    for (const m of this.marks) {
      let reason: string | undefined
      try {
        const s = statSync(m.path, { bigint: true })
        if (s.dev !== m.dev || s.ino !== m.ino) reason = `${m.label} ${m.path} was replaced by another file`
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        reason =
          code === 'ENOENT' || code === 'ENOTDIR'
            ? `${m.label} ${m.path} was removed`
            : `${m.label} ${m.path} cannot be checked (${(err as Error).message})`
      }
      if (reason != null) {
        this.lostReason = reason
        return reason
      }
    }
    return undefined
  }

  /** Checks every `intervalMs` and calls `onLost` once, the first time a check fails. */
  watch(intervalMs: number, onLost: (reason: string) => void): void {
    this.stop()
    this.timer = setInterval(() => {
      const reason = this.check()
      if (reason == null) return
      this.stop()
      onLost(reason)
    }, intervalMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }
}
