// Progress notifications during a long wait, for clients that asked for them (a progressToken): a client
// that resets its request timeout on progress then waits as long as the tool does.
import type { ProgressToken } from '@modelcontextprotocol/sdk/types.js'

const INTERVAL = 10_000

export type SendProgress = (params: {
  progressToken: ProgressToken
  progress: number
  total: number
  message: string
}) => Promise<void>

/** Reports the seconds waited so far every 10 s until the returned function is called. */
export function keepAlive(token: ProgressToken | undefined, seconds: number, send: SendProgress): () => void {
  if (token == null) return () => {}
  const started = Date.now()
  const timer = setInterval(() => {
    const waited = Math.min(seconds, Math.round((Date.now() - started) / 1000))
    send({ progressToken: token, progress: waited, total: seconds, message: 'waiting' }).catch(() => {})
  }, INTERVAL)
  timer.unref()
  return () => clearInterval(timer)
}
