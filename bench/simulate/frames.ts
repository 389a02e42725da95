// A census of the yamux frames every simulated node sends, by type and flag (process-wide), to tell
// what the transport writes are: data, window updates, stream opens (SYN) and closes (FIN, RST), pings.
// It patches the muxer's prototype, which @libp2p/yamux does not export; a diagnostic for the harness
// (SIM_FRAMES=1), never loaded by the node.
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'

const TYPES = ['data', 'window', 'ping', 'goaway']
const FLAGS: Array<[number, string]> = [
  [1, 'SYN'],
  [2, 'ACK'],
  [4, 'FIN'],
  [8, 'RST'],
]

interface Header {
  type: number
  flag: number
}

/** Counts every frame sent from now on; returns a function that reads the counts so far. */
export async function countFrames(): Promise<() => Record<string, number>> {
  const require = createRequire(import.meta.url)
  const index = require.resolve('@libp2p/yamux')
  const muxer = (await import(pathToFileURL(join(dirname(index), 'muxer.js')).href)) as {
    YamuxMuxer: { prototype: { sendFrame(header: Header, data?: unknown): unknown } }
  }
  const counts: Record<string, number> = {}
  const proto = muxer.YamuxMuxer.prototype
  const sendFrame = proto.sendFrame
  proto.sendFrame = function (this: unknown, header: Header, data?: unknown) {
    const flags = FLAGS.filter(([bit]) => (header.flag & bit) !== 0).map(([, name]) => name)
    const key = [TYPES[header.type] ?? String(header.type), ...flags].join('+')
    counts[key] = (counts[key] ?? 0) + 1
    return sendFrame.call(this, header, data)
  }
  return () => ({ ...counts })
}
