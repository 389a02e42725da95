// Files a `file-put` must not publish to every member by mistake: the node's identity key, the mesh key
// it uses, and anything under its data directory or $CLAWLINK_HOME. Checked on the node, which knows
// which key file it actually loaded (--key-file may be anywhere), after symlinks are resolved.
import { realpathSync, statSync } from 'node:fs'
import { resolve, sep } from 'node:path'

export interface ProtectedPaths {
  identityKey: string
  /** the mesh key file in use, if the key came from a file */
  meshKey?: string
  dataDir: string
  home: string
}

/** The path with symlinks resolved; the path itself when it does not exist (nothing to resolve). */
function real(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return resolve(path)
  }
}

function inside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep)
}

/** The same file by device and inode: a hard link to a key is the key. */
function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a)
    const y = statSync(b)
    return x.dev === y.dev && x.ino === y.ino
  } catch {
    return false
  }
}

/** Why `path` must not be shared without --force, or undefined if it may be. */
export function protectedReason(path: string, p: ProtectedPaths): string | undefined {
  const target = real(path)
  const files: Array<[string | undefined, string]> = [
    [p.identityKey, "this node's identity key"],
    [p.meshKey, 'the mesh key this node uses'],
  ]
  for (const [file, what] of files) {
    if (file != null && (target === real(file) || sameFile(target, file))) return what
  }
  if (inside(target, real(p.dataDir))) return "inside this node's data directory"
  if (inside(target, real(p.home))) return 'inside CLAWLINK_HOME'
  return undefined
}
