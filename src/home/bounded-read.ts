// Reads a small file a user names (a key, a token) without trusting it to be small: /dev/zero, a FIFO
// or an endless pipe must be refused quickly with memory bounded by the limit, never read whole.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs'

/** How long a pipe or FIFO may take to deliver its content. */
const STREAM_WAIT = 2_000

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

/**
 * Returns at most `limit` bytes of `path`; anything larger (by fstat for a file, else by reading at most
 * limit + 1 bytes) is refused. `what` names the file in messages ("key file /x"); `makeError` builds
 * the caller's error class. Opened non-blocking, so a FIFO without a writer cannot hang us.
 */
export function readBounded(
  path: string,
  limit: number,
  what: string,
  makeError: (message: string) => Error,
): Buffer {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw makeError(code === 'ENOENT' ? `${what} does not exist` : `cannot read ${what}: ${code ?? err}`)
  }
  try {
    const st = fstatSync(fd)
    if (st.isDirectory()) throw makeError(`cannot read ${what}: it is a directory`)
    const tooBig = () => makeError(`${what} is larger than ${limit} bytes: it is not what was expected`)
    if (st.isFile() && st.size > limit) throw tooBig()
    const buf = Buffer.alloc(limit + 1)
    const deadline = Date.now() + STREAM_WAIT
    let got = 0
    while (got <= limit) {
      let n: number
      try {
        n = readSync(fd, buf, got, limit + 1 - got, null)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK')
          throw makeError(`cannot read ${what}: ${code ?? err}`)
        if (Date.now() > deadline)
          throw makeError(`${what} delivered no end of data in ${STREAM_WAIT / 1000}s`)
        sleepSync(10)
        continue
      }
      if (n === 0) break
      got += n
    }
    if (got > limit) throw tooBig()
    return buf.subarray(0, got)
  } finally {
    closeSync(fd)
  }
}
