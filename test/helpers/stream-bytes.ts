// Counts the bytes a node sends and receives on the streams of one protocol that it opens while `fn`
// runs (length prefixes and protobuf: what the protocol costs on the wire, before Noise and yamux).
// Only node builtins and structural types here: the benchmarks load this file directly.

export async function countStreamBytes(
  node: { libp2p: unknown },
  protocol: string,
  fn: () => Promise<unknown>,
): Promise<{ bytes: number; streams: number }> {
  const cm = (node.libp2p as { components: { connectionManager: Record<string, unknown> } }).components
    .connectionManager
  const open = cm.openStream as (...args: unknown[]) => Promise<Record<string, unknown>>
  let bytes = 0
  let streams = 0
  cm.openStream = async (...args: unknown[]) => {
    const stream = await open.apply(cm, args)
    if (args[1] !== protocol) return stream
    streams++
    const send = stream.send as (d: { byteLength: number }) => boolean
    stream.send = (d: { byteLength: number }) => {
      bytes += d.byteLength
      return send.call(stream, d)
    }
    ;(stream as unknown as EventTarget).addEventListener('message', (e) => {
      bytes += (e as unknown as { data: { byteLength: number } }).data.byteLength
    })
    return stream
  }
  try {
    await fn()
  } finally {
    cm.openStream = open
  }
  return { bytes, streams }
}
