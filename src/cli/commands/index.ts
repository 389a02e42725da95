import type { Command } from '../command.js'
import { discover } from './discover.js'
import { heartbeat } from './heartbeat.js'
import { keygen } from './keygen.js'
import { node } from './node.js'
import { register } from './register.js'
import { status } from './status.js'

/** Every command, in the order `clawlink --help` lists them. */
export const COMMANDS: Command[] = [node, discover, status, register, heartbeat, keygen]

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name)
}
