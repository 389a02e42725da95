// A progress bar on stderr, for transfers big enough to wait for, only when stderr is a terminal.
import type { ControlClient } from '../client/control-client.js'

const MIN_SIZE = 4 * 1024 * 1024

function bar(received: number, size: number): string {
  const width = 30
  const done = Math.min(width, Math.round((received / size) * width))
  const mib = (n: number) => (n / 1024 / 1024).toFixed(1)
  return `[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${mib(received)}/${mib(size)} MiB`
}

/** Shows the node's progress fetching `sha256` until `done` settles. */
export async function withProgress<T>(
  api: ControlClient,
  sha256: string | undefined,
  size: number,
  done: Promise<T>,
): Promise<T> {
  if (sha256 == null || size < MIN_SIZE || process.stderr.isTTY !== true) return done
  let finished = false
  const watch = (async () => {
    while (!finished) {
      await new Promise((r) => setTimeout(r, 250))
      if (finished) break
      const p = await api
        .get<{ received: number; size: number } | null>(`/v1/files/progress?sha256=${sha256}`)
        .catch(() => null)
      if (p != null) process.stderr.write(`\r${bar(p.received, p.size)}`)
    }
  })()
  try {
    return await done
  } finally {
    finished = true
    await watch
    process.stderr.write('\r\x1b[K')
  }
}
