/** Reads all of stdin as UTF-8 (for `--task -`, `--result -`), refusing more than `max` bytes. */
export async function readStdin(max = 64 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length
    if (size > max) throw new Error(`stdin is over ${max} bytes`)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}
