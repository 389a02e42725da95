import type { Command } from '../command.js'
import { a2a } from './a2a.js'
import { broadcast } from './broadcast.js'
import { cancel } from './cancel.js'
import { dashboard } from './dashboard.js'
import { delegate } from './delegate.js'
import { discover } from './discover.js'
import { down } from './down.js'
import { fileGet } from './file-get.js'
import { fileHistory } from './file-history.js'
import { fileList } from './file-list.js'
import { filePut } from './file-put.js'
import { fileRm } from './file-rm.js'
import { heartbeat } from './heartbeat.js'
import { keygen } from './keygen.js'
import { knowledge } from './knowledge.js'
import { logs } from './logs.js'
import { mcp } from './mcp.js'
import { node } from './node.js'
import { poll } from './poll.js'
import { register } from './register.js'
import { relay } from './relay.js'
import { reply } from './reply.js'
import { respond } from './respond.js'
import { service } from './service.js'
import { status } from './status.js'
import { tasks } from './tasks.js'
import { up } from './up.js'
import { watch } from './watch.js'

/** Every command, in the order `clawlink --help` lists them. */
export const COMMANDS: Command[] = [
  node,
  up,
  down,
  logs,
  service,
  discover,
  delegate,
  poll,
  watch,
  respond,
  reply,
  cancel,
  tasks,
  a2a,
  broadcast,
  knowledge,
  filePut,
  fileGet,
  fileList,
  fileHistory,
  fileRm,
  status,
  mcp,
  dashboard,
  register,
  heartbeat,
  relay,
  keygen,
]

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name)
}
