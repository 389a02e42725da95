// The files by which the CLI finds a running node: control.json in its data dir and one in the run dir
// of CLAWLINK_HOME (for lookup by name). Rewritten when the node's name changes, removed at stop.
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ControlInfo } from '../api/types.js'
import type { ClawLinkNode } from '../core/index.js'
import { runDir, runFileName } from '../home/paths.js'
import { ensurePrivateDir } from '../home/private-dir.js'
import { VERSION } from '../version.js'

export function keepRunFiles(node: ClawLinkNode): void {
  let runFile: string | undefined
  const write = () => {
    const info: ControlInfo = {
      pid: process.pid,
      name: node.localCard().name,
      peerId: node.peerId.toString(),
      dataDir: node.paths.root,
      socket: node.paths.socket,
      version: VERSION,
      startedAt: new Date(node.startedAt).toISOString(),
    }
    const text = `${JSON.stringify(info, null, 2)}\n`
    writeFileSync(node.paths.control, text, { mode: 0o600 })
    const dir = runDir(node.options.home)
    ensurePrivateDir(dir)
    runFile = join(dir, runFileName(node.paths.root))
    writeFileSync(runFile, text, { mode: 0o600 })
  }
  write()
  // the CLI finds nodes by name through these files
  let name = node.localCard().name
  node.onCardChange((card) => {
    if (card.name === name) return
    name = card.name
    write()
  })
  node.onStop('after-network', async () => {
    if (runFile != null) rmSync(runFile, { force: true })
    rmSync(node.paths.control, { force: true })
  })
}
