// Directories that hold a control socket or a run file must be this user's alone: another local user
// who owns (or may write to) one could take the socket's place and read every CLI request.
// Shared by the node and the CLI, so it must stay free of libp2p.
import { lstatSync, mkdirSync, type Stats } from 'node:fs'

/** A directory or socket another local user could control; `message` names the path and the fix. */
export class UnsafePathError extends Error {
  static override readonly name = 'UnsafePathError'
  override name = 'UnsafePathError'
}

function uid(): number | undefined {
  return process.getuid?.()
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/**
 * Throws UnsafePathError unless `dir` is a real directory (not a symlink) owned by us and not writable
 * by group or others. A missing dir passes when `missingOk` (nothing there to trust or distrust).
 */
export function checkPrivateDir(dir: string, missingOk = false): void {
  const st = lstatOrUndefined(dir)
  if (st == null) {
    if (missingOk) return
    throw new UnsafePathError(`${dir} does not exist`)
  }
  const me = uid()
  if (st.isSymbolicLink()) {
    throw new UnsafePathError(
      `refusing ${dir}: it is a symlink, and another user may control where it points; remove it (rm ${dir}) and try again`,
    )
  }
  if (!st.isDirectory()) {
    throw new UnsafePathError(`refusing ${dir}: it is not a directory; remove it and try again`)
  }
  if (me != null && st.uid !== me) {
    throw new UnsafePathError(
      `refusing ${dir}: it is owned by uid ${st.uid}, not by you (uid ${me}), so that user could read or fake the control socket; remove it (as that user or root) and try again`,
    )
  }
  if ((st.mode & 0o022) !== 0) {
    throw new UnsafePathError(
      `refusing ${dir}: it is writable by group or others (mode ${(st.mode & 0o777).toString(8)}); fix it with: chmod 700 ${dir}`,
    )
  }
}

/** Creates `dir` (and parents) with mode 0700 if missing, then checks it is ours alone. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  checkPrivateDir(dir)
}

/** Throws UnsafePathError unless `path` is a Unix socket owned by us (a missing one passes: connect says so). */
export function checkOwnSocket(path: string): void {
  const st = lstatOrUndefined(path)
  if (st == null) return
  if (!st.isSocket()) throw new UnsafePathError(`refusing ${path}: it is not a Unix socket`)
  const me = uid()
  if (me != null && st.uid !== me) {
    throw new UnsafePathError(
      `refusing ${path}: the socket is owned by uid ${st.uid}, not by you (uid ${me}); another user may be impersonating the node`,
    )
  }
}
