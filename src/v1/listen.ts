// `--v1-api [HOST:]PORT`: where the v1 HTTP API listens, and whether that needs a token.
import { type HostPort, parseHostPort } from '../rules/listen.js'
import { DEFAULT_HOST, DEFAULT_PORT } from './constants.js'

export type { HostPort as V1Listen } from '../rules/listen.js'
export { isLoopbackHost as isLoopback } from '../rules/listen.js'

/** Parses `PORT`, `HOST:PORT` or `[IPv6]:PORT`; throws an Error with a message for people. */
export function parseV1Listen(raw: string): HostPort {
  return parseHostPort(raw, '--v1-api', DEFAULT_HOST)
}

export function defaultV1Listen(): HostPort {
  return { host: DEFAULT_HOST, port: DEFAULT_PORT }
}
