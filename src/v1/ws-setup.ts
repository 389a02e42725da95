// Wires v1's WebSocket push into a node: the queue pump (push.ts), the sockets (websocket.ts), and
// `agent_joined` for agents registered here or first listed on another node's card (joined.ts).
import type { DatabaseSync } from 'node:sqlite'
import type { ClawLinkNode } from '../core/index.js'
import type { PresenceEvents } from '../protocols/presence/index.js'
import { joinedLocal, joinedRemote, SeenAgents } from './joined.js'
import { type PushLimits, V1Push } from './push.js'
import type { V1Store } from './store.js'
import { type V1SocketLimits, V1Sockets } from './websocket.js'

export type V1WsOptions = Partial<V1SocketLimits & PushLimits>

/** Bytes buffered on one socket past which pushing to its agent waits for the writes to complete. */
export const WS_HIGH_WATER = 1024 * 1024

export interface V1WsHandle {
  sockets: V1Sockets
  stop(): void
}

export function startV1Push(
  node: ClawLinkNode,
  db: DatabaseSync,
  store: V1Store,
  token: string | undefined,
  options: V1WsOptions,
  onError: (err: Error) => void,
): V1WsHandle {
  const push = new V1Push(db, { highWater: options.highWater ?? WS_HIGH_WATER }, onError)
  const sockets = new V1Sockets(store, push, token, options)
  const self = node.peerId.toString()
  store.onQueued = (agentId) => push.schedule(agentId)
  store.onRegistered = (a) => sockets.announce(joinedLocal(a, self), a.agentId)
  store.onForgotten = (agentId) => sockets.closeAgent(agentId)
  const seen = new SeenAgents()
  const onCard = (e: PresenceEvents['peer:card']) => {
    const { record } = e.detail
    for (const a of record.card.hostedAgents?.agents ?? []) {
      if (seen.first(record.id, a.agentId) && sockets.count() > 0)
        sockets.announce(joinedRemote(a, record.id, record.card.machine))
    }
  }
  node.presence.addEventListener('peer:card', onCard)
  return {
    sockets,
    stop() {
      node.presence.removeEventListener('peer:card', onCard)
      store.onQueued = undefined
      store.onRegistered = undefined
      store.onForgotten = undefined
      sockets.close()
    },
  }
}
