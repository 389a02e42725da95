// What can go wrong with the store under a running node, as errors a person can act on.
import type { DataDirPaths } from '../home/paths.js'

/** SQLite primary result codes (the low byte of an extended code). */
const SQLITE_CORRUPT = 11
const SQLITE_FULL = 13
const SQLITE_NOTADB = 26

export type StoreFaultKind = 'full' | 'corrupt' | 'lost'

/** The store cannot be used as it is: full disk, damaged file, or the file was removed or replaced. */
export class StoreFaultError extends Error {
  static override readonly name = 'StoreFaultError'
  override name = 'StoreFaultError'
  constructor(
    readonly kind: StoreFaultKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }

  /** The HTTP status an API answers with. */
  get status(): number {
    return this.kind === 'full' ? 507 : 503
  }

  /** The error code an API answers with. */
  get code(): string {
    return `store_${this.kind}`
  }
}

/** At start: the store is missing, empty or damaged while the node's identity exists. */
export class StoreDamagedError extends Error {
  static override readonly name = 'StoreDamagedError'
  override name = 'StoreDamagedError'
}

/** The SQLite primary result code of an error from node:sqlite, if it is one. */
export function sqliteCode(err: unknown): number | undefined {
  const code = (err as { errcode?: unknown } | null)?.errcode
  return typeof code === 'number' ? code & 0xff : undefined
}

/** True for SQLITE_CORRUPT and SQLITE_NOTADB: the file is not a sound database. */
export function isCorrupt(err: unknown): boolean {
  const code = sqliteCode(err)
  return code === SQLITE_CORRUPT || code === SQLITE_NOTADB
}

/** Turns a store failure into a StoreFaultError that says what to do; other errors give undefined. */
export function storeFault(err: unknown, paths: DataDirPaths): StoreFaultError | undefined {
  if (err instanceof StoreFaultError) return err
  const code = sqliteCode(err)
  const detail = (err as Error).message
  if (code === SQLITE_FULL || (err as NodeJS.ErrnoException)?.code === 'ENOSPC') {
    return new StoreFaultError(
      'full',
      `the disk holding ${paths.root} is full (${detail}); free some space there and try again`,
      { cause: err },
    )
  }
  if (isCorrupt(err)) {
    return new StoreFaultError(
      'corrupt',
      `the store ${paths.store} is damaged (${detail}); stop the node and restore it from a backup, or start fresh with --reset-store (this forgets tasks, files and knowledge)`,
      { cause: err },
    )
  }
  return undefined
}
