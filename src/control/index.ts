// The control API of one node: the Unix-socket server with its routes, listening, closed with the node.
import { dirname } from 'node:path'
import type { ClawLinkNode } from '../core/index.js'
import { ensurePrivateDir } from '../home/private-dir.js'
import { registerRoutes } from './routes/node.js'
import { ApiError, ControlServer, MAX_BODY_SIZE } from './server.js'

export { ApiError, ControlServer } from './server.js'

export async function startControl(node: ClawLinkNode): Promise<ControlServer> {
  const { paths, log, options } = node
  const server = new ControlServer(
    paths.socket,
    (err) =>
      log.emit('control_error', { message: err.message }, `control API error: ${err.message}`, 'error'),
    // a task may be JSON-escaped to several times its size; leave room for that
    Math.max(MAX_BODY_SIZE, options.maxTaskSize * 6 + 64 * 1024),
    {
      mapError: (err) => {
        const fault = node.storeProblem(err)
        return fault != null ? new ApiError(fault.status, fault.code, fault.message) : undefined
      },
      gate: () => {
        const lost = node.storeHealth.problem()
        return lost != null ? new ApiError(lost.status, lost.code, lost.message) : undefined
      },
    },
  )
  ensurePrivateDir(dirname(paths.socket))
  registerRoutes(server, node)
  await server.listen()
  return server
}
