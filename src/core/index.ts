/**
 * @packageDocumentation
 *
 * The core of a ClawLink node: `createNode()` and the services that own the rules of tasks, files and
 * broadcasts. The control API, the v1 adapter and the daemon are built on it; it imports none of them.
 */

export { ConfigError, DataDirLockedError, InvalidMeshKeyError } from '../home/errors.js'
export { A2aBridgeError } from './a2a-outbound/errors.js'
export { type CreateNodeInit, createNode } from './create-node.js'
export { ConflictError } from './errors.js'
export { EventLog } from './event-log.js'
export { ProtectedPathError } from './file-service.js'
export type { StackSeam } from './libp2p-config.js'
export type { Recipient } from './mailbox.js'
export { ClawLinkNode } from './node.js'
export {
  checkWakeUrl,
  DEFAULT_MDNS_TAG,
  type NodeOptions,
  type NodeOptionsInput,
  resolveNodeOptions,
} from './options.js'
