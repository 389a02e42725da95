import { ControlClient, type ControlClientOptions } from './control-client.js'
import { type NodeSelection, selectNode } from './select-node.js'

/** The control client of the selected node (see selectNode); throws a ClientError when none runs. */
export function connectTo(
  sel: NodeSelection,
  env: NodeJS.ProcessEnv,
  opts: ControlClientOptions = {},
): ControlClient {
  const info = selectNode(sel, env)
  return new ControlClient(info.socket, `${info.name} (${info.dataDir})`, opts)
}

export interface KeptClient {
  /** The selected node's client, chosen at each call (the node may start or restart meanwhile). */
  get(): ControlClient
  /** Closes the kept connections. */
  close(): void
}

/**
 * For a long-lived process that makes many calls (the MCP server): one keep-alive client per node,
 * reused while the selection names the same node and socket, replaced (its connections closed) when not.
 */
export function keptClient(sel: NodeSelection, env: NodeJS.ProcessEnv, maxConnections = 4): KeptClient {
  let current: ControlClient | undefined
  return {
    get() {
      const info = selectNode(sel, env)
      const label = `${info.name} (${info.dataDir})`
      if (current?.socket === info.socket && current.label === label) return current
      current?.close()
      current = new ControlClient(info.socket, label, { keepAlive: true, maxConnections })
      return current
    },
    close() {
      current?.close()
      current = undefined
    },
  }
}
