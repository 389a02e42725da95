// The checks every MCP HTTP request passes before the SDK sees it: the Host and Origin a browser sends
// (a web page must not reach a loopback server through DNS rebinding or a cross-site fetch), the bearer
// token, and a bounded body.
import type { IncomingMessage } from 'node:http'
import { isLoopbackHost, splitHostHeader } from '../rules/listen.js'
import { sameSecret } from '../rules/secret.js'

/** A JSON-RPC request body: a file_put carries up to 1 MiB of text, which JSON escapes can make 6 MiB. */
export const MAX_BODY = 8 * 1024 * 1024

export interface GuardOptions {
  /** the server listens on loopback only: the Host header must name loopback too */
  loopback: boolean
  /** required as `Authorization: Bearer TOKEN` when set */
  token?: string
  /** origins allowed besides loopback ones, exactly as browsers send them (scheme://host[:port]) */
  allowedOrigins: string[]
}

export interface Refusal {
  status: number
  message: string
  headers?: Record<string, string>
}

function loopbackOrigin(origin: string): boolean {
  try {
    const url = new URL(origin)
    return (url.protocol === 'http:' || url.protocol === 'https:') && isLoopbackHost(url.hostname)
  } catch {
    return false
  }
}

/** Why the request is refused, or undefined if it may go on. */
export function refusal(req: IncomingMessage, opts: GuardOptions): Refusal | undefined {
  if (opts.loopback) {
    // a rebound DNS name reaches 127.0.0.1 with the attacker's host name in Host
    const host = splitHostHeader(req.headers.host ?? '')?.name
    if (host == null || !isLoopbackHost(host)) {
      return {
        status: 403,
        message: 'Host header is not a loopback name; this server answers local clients only',
      }
    }
  }
  const origin = req.headers.origin
  if (origin != null && !loopbackOrigin(origin) && !opts.allowedOrigins.includes(origin)) {
    return { status: 403, message: `Origin ${JSON.stringify(origin.slice(0, 200))} is not allowed` }
  }
  if (opts.token != null) {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')
    if (m == null || !sameSecret(m[1]!, opts.token)) {
      return {
        status: 401,
        message: 'a bearer token is required (Authorization: Bearer TOKEN)',
        headers: { 'www-authenticate': 'Bearer realm="clawlink-mcp"' },
      }
    }
  }
  return undefined
}

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError'
}

/** Reads the body, at most `max` bytes; a larger one is refused as soon as it is known to be. */
export async function readBody(req: IncomingMessage, max = MAX_BODY): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0')
  if (declared > max) throw new BodyTooLargeError(`the request body is over ${max} bytes`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > max) throw new BodyTooLargeError(`the request body is over ${max} bytes`)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}
