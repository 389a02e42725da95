// `[HOST:]PORT` as options that open a TCP server take it, and whether a host is this machine only.
import { isIP } from 'node:net'

export interface HostPort {
  host: string
  port: number
}

/** Whether only this machine can reach `host`; anything else needs a token. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1')
  if (h === 'localhost') return true
  if (isIP(h) === 4) return h.startsWith('127.')
  if (isIP(h) === 6) return h === '::1'
  return false
}

/**
 * A Host header (`name[:port]`, `[v6][:port]`): its name, lower case and without brackets, and its
 * port; undefined when it is not one.
 */
export function splitHostHeader(header: string): { name: string; port?: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(header)
  if (m == null) return undefined
  return {
    name: m[1]!.replace(/^\[(.*)\]$/, '$1').toLowerCase(),
    port: m[2] != null ? Number(m[2]) : undefined,
  }
}

/** Parses `PORT`, `HOST:PORT` or `[IPv6]:PORT`; throws an Error naming `option`. */
export function parseHostPort(raw: string, option: string, defaultHost: string): HostPort {
  const text = raw.trim()
  let host = defaultHost
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
      `${option} expects [HOST:]PORT with a port of 0-65535, got ${JSON.stringify(raw.slice(0, 100))}`,
    )
  if (host === '' || (isIP(host) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/.test(host)))
    throw new Error(`${option}: invalid host ${JSON.stringify(host.slice(0, 100))}`)
  return { host, port: Number(portText) }
}
