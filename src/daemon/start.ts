// The composition root: a started core node with, around it, the v1 adapter (if asked for), the
// notifiers, the control API and the run files the CLI finds it by. Everything stops with the node.

import type { A2aBridge } from '../a2a/index.js'
import { startControl } from '../control/index.js'
import { type ClawLinkNode, createNode, type EventLog, type NodeOptions } from '../core/index.js'
import type { V1Api } from '../v1/index.js'
import { startNotifiers } from './notifiers.js'
import { keepRunFiles } from './run-files.js'

/** `onFatal` hears of a lost store, from the moment the node exists (it may be lost while starting). */
export async function startDaemon(
  options: NodeOptions,
  log: EventLog,
  onFatal?: (err: Error) => void,
): Promise<ClawLinkNode> {
  let v1: V1Api | undefined
  // loaded only when asked for: a node without the v1 API never holds its code (docs/benchmarks.md)
  const v1Module = options.v1Api != null ? await import('../v1/index.js') : undefined
  let a2a: A2aBridge | undefined
  const a2aModule = options.a2a != null ? await import('../a2a/index.js') : undefined
  const node = await createNode({
    options,
    log,
    beforeStart: (node) => {
      if (onFatal != null) node.onFatal(onFatal)
      if (v1Module != null && options.v1Api != null) {
        // before anything can arrive: its agents' queues fill in the transactions that store the cause
        v1 = new v1Module.V1Api(node, node.store.db, {
          ...options.v1Api,
          token: options.v1Token,
          tokenFrom: options.v1TokenFrom,
        })
        v1.register()
      }
      if (a2aModule != null && options.a2a != null) {
        a2a = new a2aModule.A2aBridge(node, {
          ...options.a2a,
          token: options.a2aToken,
          tokenFrom: options.a2aTokenFrom,
        })
        a2a.register()
      }
      startNotifiers(node)
    },
  })
  try {
    const control = await startControl(node)
    node.onStop('after-network', () => control.close())
    await v1?.start()
    await a2a?.start()
    keepRunFiles(node)
  } catch (err) {
    await node.stop()
    throw err
  }
  return node
}
