// `--v1-api [HOST:]PORT`: where the v1 HTTP API listens, and whether that needs a token.
import { isIP } from 'node:net'
import type { HostPort as V1Listen } from '../core/loopback.js'
import { DEFAULT_HOST, DEFAULT_PORT } from './constants.js'

export type { HostPort as V1Listen } from '../core/loopback.js'
export { isLoopback } from '../core/loopback.js'

/** Parses `PORT`, `HOST:PORT` or `[IPv6]:PORT`; throws an Error with a message for people. */
export function parseV1Listen(raw: string): V1Listen {
  const text = raw.trim()
  let host = DEFAULT_HOST
  let portText = text
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text)
  if (v6 != null) {
    host = v6[1]!
    portText = v6[2]!
  } else if (text.includes(':')) {
    const at = text.lastIndexOf(':')
    host = text.slice(0, at)
    portText = text.slice(at + 1)
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535)
    throw new Error(
      `--v1-api expects [HOST:]PORT with a port of 0-65535, got ${JSON.stringify(raw.slice(0, 100))}`,
    )
  if (host === '' || (isIP(host) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/.test(host)))
    throw new Error(`--v1-api: invalid host ${JSON.stringify(host.slice(0, 100))}`)
  return { host, port: Number(portText) }
}

export function defaultV1Listen(): V1Listen {
  return { host: DEFAULT_HOST, port: DEFAULT_PORT }
}
