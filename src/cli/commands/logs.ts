// `clawlink logs`: the last lines of the log of a node started with `clawlink up`, and with -f the lines
// as they come. Reads in fixed-size chunks, so memory stays bounded whatever the file's size, and follows
// the node's rotation (the file truncated in place, or replaced).
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { nodeLogPath } from '../../home/node-log.js'
import { type Command, flag, num } from '../command.js'
import { nodeDataDir, sleep } from '../detach/local-node.js'
import { CliError, UsageError } from '../errors.js'

const CHUNK = 64 * 1024
const POLL_MS = 200

function write(buf: Buffer): Promise<void> {
  return new Promise((resolve) => process.stdout.write(buf, () => resolve()))
}

/** Where the last `n` lines of the first `size` bytes start (a final newline ends a line, not starts one). */
function tailStart(fd: number, size: number, n: number): number {
  if (n === 0) return size
  const buf = Buffer.alloc(CHUNK)
  let seen = 0
  for (let end = size; end > 0; end -= CHUNK) {
    const start = Math.max(0, end - CHUNK)
    readSync(fd, buf, 0, end - start, start)
    for (let i = end - start - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a || start + i === size - 1) continue
      if (++seen === n) return start + i + 1
    }
  }
  return 0
}

/** Copies bytes [from, to) of the file to stdout; returns where it stopped. */
async function copy(fd: number, from: number, to: number): Promise<number> {
  let pos = from
  while (pos < to) {
    const buf = Buffer.alloc(Math.min(CHUNK, to - pos))
    const n = readSync(fd, buf, 0, buf.length, pos)
    if (n === 0) break
    await write(buf.subarray(0, n))
    pos += n
  }
  return pos
}

function statOrUndefined(path: string): { size: number; ino: number } | undefined {
  try {
    return statSync(path)
  } catch {
    return undefined
  }
}

async function follow(path: string, fd: number, offset: number): Promise<never> {
  let ino = statSync(path).ino
  for (;;) {
    await sleep(POLL_MS)
    const st = statOrUndefined(path)
    if (st == null) continue
    if (st.ino !== ino) {
      // replaced by a new file: read the new one from its start
      closeSync(fd)
      fd = openSync(path, 'r')
      ino = st.ino
      offset = 0
    } else if (st.size < offset) {
      offset = 0 // rotated: truncated in place after its content went to node.log.1
    }
    if (st.size > offset) offset = await copy(fd, offset, st.size)
  }
}

export const logs: Command = {
  name: 'logs',
  summary: 'print the log of a node started with clawlink up (-f: follow it)',
  usage: 'logs [--as NAME | --data-dir DIR] [-n N] [-f]',
  details:
    'Prints the last lines of <data dir>/node.log (the node need not be running: a node that died left\n' +
    'its reason there). -f keeps printing new lines until interrupted, across log rotation. The previous\n' +
    'part of the log is node.log.1.',
  options: {
    lines: {
      type: 'number',
      short: 'n',
      value: 'N',
      min: 0,
      max: 1_000_000,
      description: 'how many of the last lines to print (default 20)',
    },
    follow: { type: 'boolean', short: 'f', description: 'keep printing lines as they are written' },
  },
  async run(ctx) {
    const lines = num(ctx, 'lines') ?? 20
    if (!Number.isInteger(lines)) throw new UsageError('-n expects a whole number of lines', 'logs')
    const dataDir = nodeDataDir(ctx)
    const path = nodeLogPath(dataDir)
    let fd: number
    try {
      fd = openSync(path, 'r')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT') {
        throw new CliError(`no log at ${path}: only a node started with clawlink up writes one`)
      }
      throw new CliError(`cannot read ${path}: ${(err as Error).message}`)
    }
    const size = statSync(path).size
    const offset = await copy(fd, tailStart(fd, size, lines), size)
    if (flag(ctx, 'follow')) return follow(path, fd, offset)
    closeSync(fd)
    return 0
  },
}
