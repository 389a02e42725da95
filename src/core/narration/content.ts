// Log lines for what the knowledge and files protocols report.
import type { ClawLinkNode } from '../node.js'
import { labeller } from './label.js'

export function narrateContent(node: ClawLinkNode): void {
  const { log, knowledge, files } = node
  const label = labeller(node)

  knowledge.addEventListener('sync:done', ({ detail }) => {
    if (detail.fetched === 0) return
    log.emit(
      'history_synced',
      detail,
      `caught up on ${detail.fetched} broadcast(s) from ${label(detail.peer)} in ${detail.ms} ms`,
    )
  })
  knowledge.addEventListener('broadcast:invalid', ({ detail }) => {
    log.emit(
      'broadcast_invalid',
      detail,
      `dropped a bad broadcast from ${label(detail.peer)} (${detail.via}): ${detail.reason}`,
      'warn',
    )
  })
  knowledge.addEventListener('broadcast:throttled', ({ detail }) => {
    log.emit(
      'broadcast_throttled',
      detail,
      `${label(detail.peer)} broadcasts faster than ${node.options.broadcastRate}/s; the excess is dropped live and fetched through history sync in a few seconds`,
      'warn',
    )
  })

  files.addEventListener('entry:invalid', ({ detail }) => {
    log.emit(
      'file_entry_invalid',
      detail,
      `dropped a bad file entry from ${label(detail.peer)} (${detail.via}): ${detail.reason}`,
      'warn',
    )
  })
  files.addEventListener('entry:refused', ({ detail }) => {
    // no offence: how far ahead an entry is depends on what this node has seen so far
    log.emit(
      'file_entry_refused',
      detail,
      `refused a file entry of ${detail.key} by ${label(detail.author)} from ${label(detail.peer)} (${detail.via}): ${detail.reason}`,
      'warn',
    )
  })
  files.addEventListener('blob:invalid', ({ detail }) => {
    log.emit(
      'blob_invalid',
      detail,
      `discarded content ${detail.sha256.slice(0, 12)} from ${label(detail.peer)}: ${detail.reason}; trying another peer`,
      'warn',
    )
  })
  files.addEventListener('blob:fetched', ({ detail }) => {
    log.emit(
      'blob_fetched',
      detail,
      `fetched ${detail.size} bytes (${detail.sha256.slice(0, 12)}) from ${label(detail.peer)}`,
    )
  })
}
