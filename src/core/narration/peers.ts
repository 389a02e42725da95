// Log lines for what presence and libp2p report about peers.
import { statusReason } from '../../protocols/presence/index.js'
import type { ClawLinkNode } from '../node.js'
import { labeller } from './label.js'

export function narratePeers(node: ClawLinkNode): void {
  const { presence, log } = node
  const label = labeller(node)
  /** name, caps and description each peer last announced, to log real card changes only */
  const offers = new Map<string, string>()

  presence.addEventListener('peer:card', ({ detail: { record, result } }) => {
    // load and addresses change often; people care when what the agent offers changes
    const offer = `${record.card.name}\n${record.card.caps.join(',')}\n${record.card.description}`
    const before = offers.get(record.id)
    offers.set(record.id, offer)
    if (result === 'updated' && before != null && before !== offer) {
      log.emit(
        'peer_updated',
        { peer: record.id, name: record.card.name, caps: record.card.caps },
        `peer updated its card: ${label(record.id)} caps=[${record.card.caps.join(',')}]`,
      )
    }
  })

  presence.addEventListener('peer:status', ({ detail: change }) => {
    const { record, from, to } = change
    const fields = { peer: record.id, name: record.card.name, machine: record.card.machine, from, to }
    if (to === 'online') {
      const again = from === 'unknown' ? 'joined' : 'is back'
      log.emit(
        'peer_online',
        fields,
        `peer ${again}: ${label(record.id)} on ${record.card.machine || 'unknown host'}, caps=[${record.card.caps.join(',')}]`,
      )
    } else if (to === 'stale') {
      const reason = statusReason(change)
      const lost = record.suspected
      const by = lost == null ? '' : lost.by === node.peerId.toString() ? 'us' : label(lost.by)
      const why =
        lost == null ? 'no heartbeat' : `unreachable: its link to ${by} broke and a dial back failed`
      log.emit(
        'peer_stale',
        { ...fields, reason, ...(lost != null ? { by: lost.by } : {}) },
        `peer stale (${why}): ${label(record.id)}`,
      )
    } else {
      // the log has said "timed out" since v1; the watch stream's reason is timed_out
      const why = statusReason(change).replace('_', ' ')
      log.emit('peer_offline', { ...fields, reason: why }, `peer offline (${why}): ${label(record.id)}`)
    }
  })

  presence.addEventListener('peer:invalid', (evt) => {
    const { peer, reason, via } = evt.detail
    log.emit(
      'peer_invalid',
      evt.detail,
      `dropped a bad presence message from ${label(peer)} (${via}): ${reason}`,
      'warn',
    )
  })
}
