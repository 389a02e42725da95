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
  /** How often a pass syncs with a few connected peers. */
  interval?: number
  /** Peers synced per pass (default RESYNC_FANOUT). */
  fanout?: number
}

/** Connected peers synced with per periodic pass. */
export const RESYNC_FANOUT = 3

/** Up to `n` of `items`, chosen at random. */
export function pickFew<T>(items: T[], n: number): T[] {
  const copy = [...items]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[copy[i], copy[j]] = [copy[j]!, copy[i]!]
  }
  return copy.slice(0, n)
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
      // a few peers a pass, not all: the cost per node stays flat as the mesh grows, and what one
      // peer misses reaches it through the others' passes
      for (const peer of pickFew([...peers.values()], init.fanout ?? RESYNC_FANOUT)) {
        await init.sync(peer).catch(() => {})
      }
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
