// Which running node a command talks to: --data-dir, --as, CLAWLINK_AGENT, or the only one running.
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { ControlInfo } from '../api/types.js'
import { processAlive } from '../home/data-dir-lock.js'
import { clawlinkHome, dataDirPaths, defaultDataDir, runDir } from '../home/paths.js'
import { checkPrivateDir } from '../home/private-dir.js'
import { ClientError } from './errors.js'

/** A run dir or data dir another user controls could point us at their socket: refuse it. */
function checkDir(dir: string): void {
  try {
    checkPrivateDir(dir, true)
  } catch (err) {
    throw new ClientError((err as Error).message)
  }
}

function readInfo(path: string): ControlInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as ControlInfo
    if (typeof info.socket !== 'string' || typeof info.pid !== 'number') return undefined
    return info
  } catch {
    return undefined
  }
}

/** Nodes of this user that are running now (per $CLAWLINK_HOME/run); stale entries are cleaned up. */
export function runningNodes(home: string): ControlInfo[] {
  const dir = runDir(home)
  checkDir(dir)
  let files: string[]
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'))
  } catch {
    return []
  }
  const nodes: ControlInfo[] = []
  for (const file of files) {
    const info = readInfo(join(dir, file))
    if (info != null && processAlive(info.pid)) nodes.push(info)
    else rmSync(join(dir, file), { force: true })
  }
  return nodes.sort((a, b) => a.name.localeCompare(b.name))
}

function startHint(name = 'NAME'): string {
  return `start one with: clawlink node --name ${name}`
}

function fromDataDir(dataDir: string): ControlInfo {
  const paths = dataDirPaths(dataDir)
  checkDir(paths.root)
  const info = readInfo(paths.control)
  if (info == null || !processAlive(info.pid)) {
    throw new ClientError(
      `no node is running with data dir ${paths.root}; ${startHint()} --data-dir ${paths.root}`,
    )
  }
  return info
}

export interface NodeSelection {
  dataDir?: string
  as?: string
}

export function selectNode(sel: NodeSelection, env: NodeJS.ProcessEnv = process.env): ControlInfo {
  if (sel.dataDir != null) return fromDataDir(sel.dataDir)
  const home = clawlinkHome(env)
  const name =
    sel.as ?? (env.CLAWLINK_AGENT != null && env.CLAWLINK_AGENT !== '' ? env.CLAWLINK_AGENT : undefined)
  const running = runningNodes(home)
  if (name != null) {
    const matches = running.filter((n) => n.name === name)
    if (matches.length === 1) return matches[0]!
    if (matches.length > 1) {
      throw new ClientError(
        `several running nodes are named ${name}; choose with --data-dir:\n${matches.map((n) => `  ${n.dataDir}`).join('\n')}`,
      )
    }
    try {
      return fromDataDir(defaultDataDir(home, name))
    } catch {
      throw new ClientError(`no node named ${name} is running; ${startHint(name)}`)
    }
  }
  if (running.length === 1) return running[0]!
  if (running.length === 0) throw new ClientError(`no clawlink node is running; ${startHint()}`)
  const list = running.map((n) => `  ${n.name.padEnd(20)} ${n.dataDir}`).join('\n')
  throw new ClientError(`several nodes are running; choose one with --as NAME or --data-dir DIR:\n${list}`)
}
