// A node on this machine as `up`, `down` and `logs` see it: by its data dir, whether it runs or not
// (`logs` is most useful for a node that died). Free of libp2p.
import { readFileSync } from 'node:fs'
import type { ControlInfo, StatusJson } from '../../api/types.js'
import { ControlClient } from '../../client/control-client.js'
import { ClientError } from '../../client/errors.js'
import { selectNode } from '../../client/select-node.js'
import { processAlive } from '../../home/data-dir-lock.js'
import { clawlinkHome, dataDirPaths, defaultDataDir } from '../../home/paths.js'
import { type CommandContext, str } from '../command.js'

/** The name a command means: `--as`, then CLAWLINK_AGENT. */
export function chosenName(ctx: CommandContext): string | undefined {
  const name = str(ctx, 'as') ?? ctx.env.CLAWLINK_AGENT
  return name != null && name !== '' ? name : undefined
}

/**
 * The data dir of the node a command is for: --data-dir; else the running node selected as every command
 * selects one; else (none runs) the default data dir of the name given by --as or CLAWLINK_AGENT.
 */
export function nodeDataDir(ctx: CommandContext): string {
  const dataDir = str(ctx, 'data-dir')
  if (dataDir != null) return dataDirPaths(dataDir, ctx.env).root
  try {
    return selectNode({ as: str(ctx, 'as') }, ctx.env).dataDir
  } catch (err) {
    const name = chosenName(ctx)
    // several nodes of that name, or an unsafe run dir: say so rather than guess
    if (name == null || /several|refusing/.test((err as Error).message)) throw err
    return defaultDataDir(clawlinkHome(ctx.env), name)
  }
}

/** The node's control.json, if any (it is removed when the node stops cleanly). */
export function readControlInfo(dataDir: string, env: NodeJS.ProcessEnv): ControlInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(dataDirPaths(dataDir, env).control, 'utf8')) as ControlInfo
    return typeof info.pid === 'number' && typeof info.socket === 'string' ? info : undefined
  } catch {
    return undefined
  }
}

/** True once `pid` has exited: a zombie nobody reaps (its parent, `up`, is gone) counts as exited. */
export function processGone(pid: number): boolean {
  if (!processAlive(pid)) return true
  try {
    // /proc/PID/stat: "pid (comm) S ..."; comm may hold spaces and parentheses, the state follows the last ')'
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return false
  }
}

/** The status of the node whose control.json says it has `pid`, or undefined if it does not answer. */
export async function statusOf(info: ControlInfo, timeout = 3_000): Promise<StatusJson | undefined> {
  if (processGone(info.pid)) return undefined
  try {
    const client = new ControlClient(info.socket, `${info.name} (${info.dataDir})`)
    const s = await client.get<StatusJson>('/v1/status', { timeout })
    // a pid reused by another process, or another node's socket: not this node
    return s.pid === info.pid ? s : undefined
  } catch (err) {
    if (err instanceof ClientError) return undefined
    throw err
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
