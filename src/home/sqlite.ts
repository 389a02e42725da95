// Loads node:sqlite without its ExperimentalWarning. Shared by the store and the data-dir lock (which
// holds SQLite's fcntl lock on node.lock), so it lives below both.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

export function loadSqlite(): typeof import('node:sqlite') {
  // node:sqlite prints an ExperimentalWarning when loaded; it is stable enough for us, so keep stderr clean.
  const emit = process.emitWarning
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message
    if (/SQLite is an experimental feature/.test(text)) return
    return (emit as (...args: unknown[]) => void).call(process, warning, ...rest)
  }) as typeof process.emitWarning
  try {
    return require('node:sqlite')
  } finally {
    process.emitWarning = emit
  }
}
