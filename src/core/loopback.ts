import { isIP } from 'node:net'

/** Where a TCP server listens (the v1 API's --v1-api). */
export interface HostPort {
  host: string
  port: number
}

/** Whether only this machine can reach `host`; anything else requires a token. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  if (isIP(host) === 6) return host === '::1'
  return false
}
