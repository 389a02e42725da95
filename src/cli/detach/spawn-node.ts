// Starts `clawlink node` detached (its own session, stdout and stderr appended to its log file) and waits
// until it answers on its control socket, exits, or the wait runs out. Spawns the binary rather than
// importing the daemon: `up` must stay free of libp2p.
import { spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { StatusJson } from '../../api/types.js'
import { LOG_FILE_ENV, logMax, rotateIfLarge } from '../../home/node-log.js'
import { processGone, readControlInfo, sleep, statusOf } from './local-node.js'

export const BIN = fileURLToPath(new URL('../../../bin/clawlink.js', import.meta.url))
/** How much of the log a failed start is explained from. */
const REASON_BYTES = 64 * 1024

/** The pid of the node the last `up` spawned, so a second `up` waits for it rather than racing it. */
const STARTING_FILE = 'node.starting'

export type StartResult =
  | { kind: 'started'; pid: number; status: StatusJson; earlier?: boolean }
  | { kind: 'exited'; pid?: number; code: number | null; signal: string | null; reason: string }
  | { kind: 'timeout'; pid: number }

function sizeOf(path: string): number {
  try {
    return statSync(path).size
  } catch {
    return 0
  }
}

/** What the node wrote to its log since `offset`, as lines (the first 64 KiB of it). */
function logSince(path: string, offset: number): string[] {
  let fd: number | undefined
  try {
    fd = openSync(path, 'r')
    const buf = Buffer.alloc(REASON_BYTES)
    const n = readSync(fd, buf, 0, buf.length, offset)
    return buf
      .subarray(0, n)
      .toString('utf8')
      .split('\n')
      .map((l) => l.trimEnd())
      .filter((l) => l !== '')
  } catch {
    return []
  } finally {
    if (fd != null) closeSync(fd)
  }
}

/**
 * Why the node stopped, from its log: the CLI's own error lines (`clawlink: ...`, usage hints left out),
 * else the last warnings and errors, else its last lines.
 */
export function reasonFromLog(lines: string[]): string {
  const own = lines.filter((l) => l.startsWith('clawlink: ')).map((l) => l.slice('clawlink: '.length))
  if (own.length > 0) return own.join('; ')
  const bad = lines.filter((l) => /\b(ERROR|WARN|Error)\b/.test(l))
  const picked = (bad.length > 0 ? bad : lines).slice(-3)
  return picked.length > 0 ? picked.join('; ') : 'it wrote nothing to its log'
}

export interface SpawnOptions {
  dataDir: string
  logFile: string
  /** `clawlink node` arguments. */
  args: string[]
  env: NodeJS.ProcessEnv
  timeoutMs: number
}

/** A node an earlier `up` spawned that is still alive (it may still be starting), if any. */
function earlierStart(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, STARTING_FILE), 'utf8'))
    if (!Number.isInteger(pid) || pid <= 0 || processGone(pid)) return undefined
    // a pid reused by some other program is not ours to wait for
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    return cmdline.includes(BIN) && cmdline.includes('node') ? pid : undefined
  } catch {
    return undefined
  }
}

export async function startDetached(o: SpawnOptions): Promise<StartResult> {
  const earlier = earlierStart(o.dataDir)
  if (earlier != null) return waitFor(o, earlier, sizeOf(o.logFile), () => undefined, true)
  rotateIfLarge(o.logFile, logMax(o.env))
  const offset = sizeOf(o.logFile)
  const fd = openSync(o.logFile, 'a', 0o600)
  let exit: { code: number | null; signal: string | null } | undefined
  let spawnError: Error | undefined
  let pid: number | undefined
  try {
    const child = spawn(process.execPath, [BIN, 'node', ...o.args], {
      // setsid: no terminal, and the shell's hangup or Ctrl-C never reaches it
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...o.env, [LOG_FILE_ENV]: o.logFile },
    })
    child.on('error', (err) => {
      spawnError = err
    })
    child.on('exit', (code, signal) => {
      exit = { code, signal }
    })
    child.unref()
    pid = child.pid
  } finally {
    closeSync(fd)
  }
  if (spawnError != null || pid == null) {
    const why = spawnError?.message ?? 'no pid'
    return { kind: 'exited', code: null, signal: null, reason: `could not run ${process.execPath}: ${why}` }
  }
  writeFileSync(join(o.dataDir, STARTING_FILE), String(pid), { mode: 0o600 })
  return waitFor(o, pid, offset, () => exit, false)
}

/** Waits until node `pid` answers on its control socket, exits, or the wait runs out. */
async function waitFor(
  o: SpawnOptions,
  pid: number,
  offset: number,
  exited: () => { code: number | null; signal: string | null } | undefined,
  earlier: boolean,
): Promise<StartResult> {
  const deadline = Date.now() + o.timeoutMs
  for (;;) {
    // our own child reports how it ended; one an earlier `up` spawned is only seen to be gone
    const exit = exited() ?? (earlier && processGone(pid) ? { code: null, signal: null } : undefined)
    if (exit != null) {
      return { kind: 'exited', pid, ...exit, reason: reasonFromLog(logSince(o.logFile, offset)) }
    }
    // control.json is written once the socket is up: then `clawlink status --as NAME` finds it too
    const info = readControlInfo(o.dataDir, o.env)
    if (info?.pid === pid) {
      const status = await statusOf(info)
      if (status != null) return { kind: 'started', pid, status, earlier }
    }
    if (Date.now() >= deadline) return { kind: 'timeout', pid }
    await sleep(100)
  }
}
