// Reads the start of a file as text for an MCP client: bounded, and honest about binary content.
import { open } from 'node:fs/promises'

export interface TextPrefix {
  /** the decoded text; absent for binary content */
  text?: string
  /** bytes of the file turned into text (less than the file size when truncated) */
  bytes: number
  truncated: boolean
}

/** Decodes at most `max` bytes of `path` as UTF-8; content that is not valid UTF-8 or holds NUL is binary. */
export async function readTextPrefix(path: string, max: number): Promise<TextPrefix> {
  const fh = await open(path, 'r')
  let buf: Buffer
  let size: number
  try {
    size = (await fh.stat()).size
    buf = Buffer.alloc(Math.min(size, max))
    let at = 0
    while (at < buf.length) {
      const { bytesRead } = await fh.read(buf, at, buf.length - at, at)
      if (bytesRead === 0) break
      at += bytesRead
    }
    buf = buf.subarray(0, at)
  } finally {
    await fh.close()
  }
  const truncated = size > buf.length
  if (buf.includes(0)) return { bytes: 0, truncated }
  try {
    // stream: a character cut at the limit is held back rather than reported as invalid
    const text = new TextDecoder('utf-8', { fatal: true }).decode(buf, { stream: truncated })
    return { text, bytes: Buffer.byteLength(text), truncated }
  } catch {
    return { bytes: 0, truncated }
  }
}
