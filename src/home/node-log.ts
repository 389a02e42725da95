// The log file of a node started with `clawlink up`: <data dir>/node.log, kept bounded by copying it to
// node.log.1 and truncating it in place. In place, because the node's stdout and stderr are that file
// (opened with O_APPEND, so after a truncation writes carry on at the new end). Free of libp2p: the CLI
// (`up`, `logs`) and the daemon share it.
import { copyFileSync, statSync, truncateSync } from 'node:fs'
import { join } from 'node:path'

/** Set by `clawlink up` in the node's environment: the file its stdout and stderr go to. */
export const LOG_FILE_ENV = 'CLAWLINK_LOG_FILE'
/** Overrides the size at which the log is rotated (bytes; tests use a small one). */
export const LOG_MAX_ENV = 'CLAWLINK_LOG_MAX'
export const DEFAULT_LOG_MAX = 10 * 1024 * 1024
/** How often the node checks its log's size. */
const CHECK_EVERY_MS = 2_000

export function nodeLogPath(dataDir: string): string {
  return join(dataDir, 'node.log')
}

export function logMax(env: NodeJS.ProcessEnv): number {
  const n = Number(env[LOG_MAX_ENV])
  return Number.isInteger(n) && n >= 1024 ? n : DEFAULT_LOG_MAX
}

function size(path: string): number {
  try {
    return statSync(path).size
  } catch {
    return 0
  }
}

/** Moves the log's content to `<log>.1` (replacing the previous one) once it exceeds `max`. */
export function rotateIfLarge(path: string, max: number): boolean {
  if (size(path) <= max) return false
  try {
    copyFileSync(path, `${path}.1`)
    // lines written between the copy and here are lost: a few at most, once per `max` bytes
    truncateSync(path, 0)
    return true
  } catch {
    return false
  }
}

/** In the node: keeps the file named by CLAWLINK_LOG_FILE under its bound until the returned stop. */
export function keepLogBounded(env: NodeJS.ProcessEnv = process.env): () => void {
  const path = env[LOG_FILE_ENV]
  if (path == null || path === '') return () => {}
  const max = logMax(env)
  const timer = setInterval(() => rotateIfLarge(path, max), CHECK_EVERY_MS)
  timer.unref()
  return () => clearInterval(timer)
}
