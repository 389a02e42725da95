import { ControlClient } from './control-client.js'
import { type NodeSelection, selectNode } from './select-node.js'

/** The control client of the selected node (see selectNode); throws a ClientError when none runs. */
export function connectTo(sel: NodeSelection, env: NodeJS.ProcessEnv): ControlClient {
  const info = selectNode(sel, env)
  return new ControlClient(info.socket, `${info.name} (${info.dataDir})`)
}
