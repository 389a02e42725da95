import { decodeUtf8, InvalidTextError } from '../rules/text.js'
import { CliError } from './errors.js'

/**
 * Reads all of stdin as UTF-8 (for `--task -`, `--result -`), refusing more than `max` bytes and bytes
 * that are not UTF-8 (exit 2, bad input): replacing them would send something the user did not write.
 */
export async function readStdin(max = 64 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length
    if (size > max) throw new Error(`stdin is over ${max} bytes`)
    chunks.push(chunk as Buffer)
  }
  try {
    return decodeUtf8(Buffer.concat(chunks), 'stdin')
  } catch (err) {
    if (err instanceof InvalidTextError) throw new CliError(`${err.message}; nothing was sent`, 2)
    throw err
  }
}
