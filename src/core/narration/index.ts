// Event narration: what the node's log says about what its protocols report. Nothing here changes state.
import type { ClawLinkNode } from '../node.js'
import { narrateContent } from './content.js'
import { narratePeers } from './peers.js'
import { narrateTasks } from './tasks.js'

export function narrate(node: ClawLinkNode): void {
  narratePeers(node)
  narrateTasks(node)
  narrateContent(node)
}
