// Anti-entropy triggers shared by the protocols that pull state from peers (knowledge, files). A pull
// on connect can race with a publish the peer makes before it knows we subscribed; pulling again once
// its subscription reaches us, and now and then, closes that window.
import type { GossipSub, SubscriptionChangeData } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

export interface ResyncInit {
  pubsub: GossipSub
  connectionManager: ConnectionManager
  topic: string
  sync: (peer: PeerId) => Promise<unknown>
  /** Delay after a peer's subscription arrives. */
  delay?: number
  /** Full pass over connected peers. */
  interval?: number
}

/** Starts the triggers; returns a function that stops them. */
export function startResync(init: ResyncInit): () => void {
  const delay = init.delay ?? 1_000
  const timers = new Set<ReturnType<typeof setTimeout>>()
  const onChange = (evt: CustomEvent<SubscriptionChangeData>) => {
    if (!evt.detail.subscriptions.some((s) => s.topic === init.topic && s.subscribe)) return
    const timer = setTimeout(() => {
      timers.delete(timer)
      void init.sync(evt.detail.peerId)
    }, delay)
    timers.add(timer)
  }
  init.pubsub.addEventListener('subscription-change', onChange)
  let running = false
  const pass = setInterval(() => {
    if (running) return
    running = true
    void (async () => {
      const peers = new Map(
        init.connectionManager.getConnections().map((c) => [c.remotePeer.toString(), c.remotePeer]),
      )
      for (const peer of peers.values()) await init.sync(peer).catch(() => {})
    })().finally(() => {
      running = false
    })
  }, init.interval ?? 120_000)
  return () => {
    init.pubsub.removeEventListener('subscription-change', onChange)
    clearInterval(pass)
    for (const t of timers) clearTimeout(t)
  }
}
