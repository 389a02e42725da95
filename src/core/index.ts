/**
 * @packageDocumentation
 *
 * A ClawLink node: everything `clawlink node` runs. The CLI's other commands never import this.
 */

export { ConfigError, DataDirLockedError, InvalidMeshKeyError } from '../home/errors.js'
export { EventLog } from './event-log.js'
export { ClawLinkNode } from './node.js'
export {
  checkWakeUrl,
  DEFAULT_MDNS_TAG,
  type NodeOptions,
  type NodeOptionsInput,
  resolveNodeOptions,
} from './options.js'
