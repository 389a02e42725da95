// `clawlink node` in the foreground: start, say so, run until a signal (or a lost store), stop cleanly.
import type { ClawLinkNode, EventLog, NodeOptions } from '../core/index.js'
import { keepLogBounded } from '../home/node-log.js'
import { announceStart } from './announce.js'
import { DaemonError } from './errors.js'
import { startDaemon } from './start.js'
import { stopDeadline } from './stop-deadline.js'

/** Runs the node until SIGINT/SIGTERM; resolves 0 after a clean stop, throws DaemonError otherwise. */
export async function runDaemon(options: NodeOptions, log: EventLog): Promise<number> {
  // set up before the start (the store may be lost at once) and before `started` is printed (whoever
  // reads it may signal at once): a SIGTERM must never meet the default handler
  let node: ClawLinkNode | undefined
  let stopping = false
  let finish: (fatal: Error | undefined) => void = () => {}
  const stopped = new Promise<Error | undefined>((resolve) => {
    finish = resolve
  })
  // the store was lost: stop at once and exit non-zero, so a supervisor sees it and restarts the node
  let lostWhileStarting: Error | undefined
  const onFatal = (err: Error) => {
    if (node == null) {
      lostWhileStarting ??= err
      return
    }
    if (stopping) return
    stopping = true
    log.emit('stopping', { reason: 'store_lost' }, 'the store is lost: stopping')
    stopNode(node, err)
  }
  const onSignal = (signal: string) => {
    if (stopping) {
      log.emit('stop_forced', { signal }, `${signal} again: exiting without a clean leave`, 'warn')
      log.flush()
      process.exit(130)
    }
    stopping = true
    log.emit('stopping', { signal }, `${signal}: leaving the mesh`)
    stopNode(node!, undefined)
  }
  /** A clean stop, bounded in time (stop-deadline.ts); `fatal` is what the run then ends with. */
  const stopNode = (n: ClawLinkNode, fatal: Error | undefined) => {
    const done = stopDeadline({ log, stage: () => n.stopStage, exit: (code) => process.exit(code) })
    n.stop().finally(() => {
      done()
      finish(fatal)
    })
  }
  let started: ClawLinkNode
  try {
    started = await startDaemon(options, log, onFatal)
  } catch (err) {
    throw new DaemonError(startFailure(err as Error, options.dataDir))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  node = started
  announceStart(started, log)
  // started by `clawlink up`: its stdout and stderr are a file that must not grow without bound
  const stopLogBound = keepLogBounded()
  if (lostWhileStarting != null) onFatal(lostWhileStarting)
  const fatal = await stopped
  stopLogBound()
  log.emit('stopped', {}, 'stopped')
  if (fatal != null) throw new DaemonError(fatal.message)
  return 0
}

function startFailure(err: Error, dataDir: string): string {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'EADDRINUSE')
    return `cannot listen: the address is in use (${err.message}); pick another --port`
  if (code === 'EACCES' || code === 'EPERM') return `permission denied: ${err.message}`
  const known = [
    'ConfigError',
    'DataDirLockedError',
    'InvalidMeshKeyError',
    'InvalidCardError',
    'StoreDamagedError',
    'UnsafePathError',
  ]
  const sqlite = (err as { errcode?: unknown }).errcode
  if (typeof sqlite === 'number' && (sqlite & 0xff) === 13)
    return `the disk holding ${dataDir} is full (${err.message}); free some space there and start again`
  if (known.includes(err.name)) return err.message
  return `the node (data dir ${dataDir}) failed to start: ${err.message}`
}
