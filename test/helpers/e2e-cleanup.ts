// The node processes and homes of one describe block's tests: killed and removed after each test.
import { rmSync } from 'node:fs'
import { afterEach } from 'vitest'
import type { NodeProcess } from './cli.js'

export function cleanedUpAfterEach(): { dirs: string[]; procs: NodeProcess[] } {
  const dirs: string[] = []
  const procs: NodeProcess[] = []
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop('SIGKILL')))
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })
  return { dirs, procs }
}
