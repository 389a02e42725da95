// A node's data dir: created private (0700) and locked so two nodes never share one.
import { closeSync, ftruncateSync, openSync, readSync } from 'node:fs'
import type { DatabaseSync } from 'node:sqlite'
import { DataDirLockedError } from './errors.js'
import type { DataDirPaths } from './paths.js'
import { loadSqlite } from './sqlite.js'

export { ensurePrivateDir } from './private-dir.js'

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

/** SQLite result codes (primary, low byte) met while taking the lock. */
const SQLITE_BUSY = 5
const SQLITE_CORRUPT = 11
const SQLITE_NOTADB = 26

/**
 * Lock files this process holds, with their connections. POSIX locks are per process and closing *any*
 * fd of a locked file drops them, so we never open a file we hold ourselves; and a connection only
 * referenced by a dropped DataDirLock would be garbage collected, closed, and the lock lost.
 */
const heldHere = new Map<string, DatabaseSync>()

/** The holder's pid: the SQLite header's user_version (big-endian at offset 60); 0 if unknown. */
function holderPid(path: string): number {
  let fd: number | undefined
  try {
    fd = openSync(path, 'r')
    const buf = Buffer.alloc(4)
    return readSync(fd, buf, 0, 4, 60) === 4 ? buf.readUInt32BE(0) : 0
  } catch {
    return 0
  } finally {
    if (fd != null) closeSync(fd)
  }
}

function sqliteCode(err: unknown): number | undefined {
  const code = (err as { errcode?: unknown }).errcode
  return typeof code === 'number' ? code & 0xff : undefined
}

/** Opens the lock file as a database and writes our pid, which takes SQLite's exclusive (fcntl) lock. */
function take(path: string): DatabaseSync {
  const { DatabaseSync } = loadSqlite()
  closeSync(openSync(path, 'a', 0o600)) // created private whatever the umask
  const db = new DatabaseSync(path)
  try {
    // fail at once if held; keep the lock after the write; no journal file to leave behind
    db.exec('PRAGMA busy_timeout=0; PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=MEMORY')
    db.exec(`PRAGMA user_version=${process.pid}`)
    return db
  } catch (err) {
    db.close()
    throw err
  }
}

/**
 * Locks the data dir with an OS advisory lock (SQLite's POSIX fcntl lock on `node.lock`, kept by
 * locking_mode=EXCLUSIVE): the kernel drops it when the holder dies, however it dies, so a stale lock
 * never blocks a start and a reused pid is never mistaken for a holder. A live holder makes this throw
 * DataDirLockedError. The file is never removed: a new file would let two nodes lock different inodes.
 */
export function lockDataDir(paths: DataDirPaths): DataDirLock {
  const busy = (pid: number) =>
    new DataDirLockedError(
      `data dir ${paths.root} is in use by another running node${pid > 0 ? ` (pid ${pid})` : ''}; stop it first or use another --name / --data-dir`,
    )
  if (heldHere.has(paths.lock)) throw busy(process.pid)
  let db: DatabaseSync | undefined
  for (let attempt = 0; db == null; attempt++) {
    try {
      db = take(paths.lock)
    } catch (err) {
      const code = sqliteCode(err)
      if (code === SQLITE_BUSY) throw busy(holderPid(paths.lock))
      if ((code !== SQLITE_NOTADB && code !== SQLITE_CORRUPT) || attempt > 0) throw err
      // An old-style pid file (or a lock torn by a crash): empty it in place (an empty file is an empty
      // database) rather than replace it, so every node still locks the same inode.
      const fd = openSync(paths.lock, 'r+')
      try {
        ftruncateSync(fd)
      } finally {
        closeSync(fd)
      }
    }
  }
  heldHere.set(paths.lock, db)
  let released = false
  return {
    release() {
      if (released) return
      released = true
      heldHere.delete(paths.lock)
      try {
        db.close()
      } catch {}
    },
  }
}
