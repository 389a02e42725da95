// A node's data dir: created private (0700) and locked so two nodes never share one.
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { DataDirLockedError } from './errors.js'
import type { DataDirPaths } from './paths.js'

export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
}

/** True if a process with this pid exists (EPERM means it exists but is not ours). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export interface DataDirLock {
  release(): void
}

/**
 * Takes the data dir's lock file (O_EXCL), holding our pid. A lock left by a dead process is recovered;
 * a live holder makes this throw DataDirLockedError.
 */
export function lockDataDir(paths: DataDirPaths): DataDirLock {
  for (let attempt = 0; attempt < 3; attempt++) {
    // Written aside and hard-linked into place: the lock appears with our pid already in it, so a
    // node starting at the same moment never reads an empty lock and takes it for a stale one.
    const tmp = `${paths.lock}.${process.pid}.tmp`
    writeFileSync(tmp, `${process.pid}\n`, { mode: 0o600 })
    let linked = false
    try {
      linkSync(tmp, paths.lock)
      linked = true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    } finally {
      rmSync(tmp, { force: true })
    }
    if (linked) {
      return {
        release() {
          try {
            if (readFileSync(paths.lock, 'utf8').trim() === String(process.pid)) rmSync(paths.lock)
          } catch {}
        },
      }
    }
    let holder = Number.NaN
    try {
      holder = Number.parseInt(readFileSync(paths.lock, 'utf8').trim(), 10)
    } catch {}
    if (holder === process.pid || processAlive(holder)) {
      throw new DataDirLockedError(
        `data dir ${paths.root} is in use by another running node (pid ${holder}); stop it first or use another --name / --data-dir`,
      )
    }
    // Stale lock of a dead process (or a half-written one): remove it and try again.
    rmSync(paths.lock, { force: true })
  }
  throw new DataDirLockedError(`could not lock data dir ${paths.root}: the lock file keeps reappearing`)
}
