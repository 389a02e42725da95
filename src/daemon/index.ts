/**
 * @packageDocumentation
 *
 * The daemon: what `clawlink node` and `clawlink relay` run. The CLI loads it on demand (a dynamic
 * import), so its other commands never load libp2p. Bad option values throw ConfigError (a usage
 * error); a failed start or a lost store throws DaemonError.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { ConfigError } from '../home/errors.js'
import { parseHostPort } from '../rules/listen.js'
import { parseV1Listen as parseListen, type V1Listen } from '../v1/listen.js'

export { checkWakeUrl, EventLog, type NodeOptionsInput, resolveNodeOptions } from '../core/index.js'
export { DaemonError } from './errors.js'
export { runDaemon } from './run.js'
export { startDaemon } from './start.js'

/** Each address must parse as a multiaddr. */
export function checkMultiaddrs(addrs: string[]): void {
  for (const addr of addrs) {
    try {
      multiaddr(addr)
    } catch (err) {
      throw new ConfigError(`invalid multiaddr ${JSON.stringify(addr)}: ${(err as Error).message}`)
    }
  }
}

/** Each id (from --allow or --allow-file) must be a PeerId. */
export function checkPeerIds(ids: string[]): void {
  for (const id of ids) {
    try {
      peerIdFromString(id)
    } catch {
      throw new ConfigError(`--allow: ${JSON.stringify(id.slice(0, 80))} is not a PeerId`)
    }
  }
}

/** `--v1-api [HOST:]PORT`. */
export function parseV1Listen(raw: string): V1Listen {
  try {
    return parseListen(raw)
  } catch (err) {
    throw new ConfigError((err as Error).message)
  }
}

/** `--a2a [HOST:]PORT` (the host defaults to loopback). */
export function parseA2aListen(raw: string): V1Listen {
  try {
    return parseHostPort(raw, '--a2a', '127.0.0.1')
  } catch (err) {
    throw new ConfigError((err as Error).message)
  }
}
