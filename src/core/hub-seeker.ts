// Zero-config hubs: a hub (`node --relay`, `relay`) says so in its card. A node that cannot reach some
// of its neighbours directly (another subnet, say) and knows a hub reserves a slot on it by itself and
// announces the relayed address, so the unreachable side can dial it through the hub. Nobody types an
// address: mDNS on each subnet finds the hub, presence through the hub finds the rest.
import { shortId } from '../api/short-id.js'
import type { NodeContext } from './context.js'
import type { DegreeKeeper } from './degree-keeper.js'

/** How often the node checks whether it needs a hub (and whether the one it uses is still there): with the
 * peer reviews that find the unreachable peers, in the same wake-up (ticker.ts). */
const CHECK_EVERY = 5_000

export class HubSeeker {
  /** the hub this node holds a slot on */
  private hub?: string
  private busy = false
  /** after a failed reservation, not before this (ms since the epoch) */
  private retryAt = 0
  private stopChecks?: () => void
  private readonly onSelfUpdate = () => this.node.presence.announceIfChanged()

  constructor(
    private readonly node: NodeContext,
    private readonly degree: DegreeKeeper,
    /** listen on one more address (libp2p-config.ts listenAlso) */
    private readonly listen: (addr: string) => Promise<void>,
  ) {}

  start(): void {
    // a hub, and a node given --relay, already have their relays
    if (this.node.options.relayServer || this.node.options.relays.length > 0) return
    // our addresses change when a reservation is made or lost: peers must hear of it now, not at the
    // next heartbeat (libp2p also reports updates that change none of them: those are not announced)
    this.node.libp2p.addEventListener('self:peer:update', this.onSelfUpdate)
    this.stopChecks = this.node.ticker.every(CHECK_EVERY, () => void this.check())
  }

  stop(): void {
    this.stopChecks?.()
    this.node.libp2p.removeEventListener('self:peer:update', this.onSelfUpdate)
  }

  private async check(): Promise<void> {
    if (this.busy) return
    // a hub that went away: the relay transport drops its reservation; find one again when needed
    if (this.hub != null && !this.node.isConnected(this.hub)) this.hub = undefined
    if (this.hub != null || Date.now() < this.retryAt) return
    const cut = this.degree.unreachable()
    if (cut.length === 0) return
    const hubs = this.node.presence
      .peers()
      .filter((p) => p.card.hub === true && p.status !== 'offline')
      .sort((a, b) => Number(this.node.isConnected(b.id)) - Number(this.node.isConnected(a.id)))
    const hub = hubs[0]
    if (hub == null) return
    this.busy = true
    const label = `${hub.card.name} (${shortId(hub.id)})`
    try {
      await this.listen(`/p2p/${hub.id}/p2p-circuit`)
      this.hub = hub.id
      this.node.log.emit(
        'hub_reserved',
        { hub: hub.id, name: hub.card.name, unreachable: cut.length },
        `reserved a slot on hub ${label}: ${cut.length} peer(s) cannot be reached directly`,
      )
      this.node.presence.announceSoon()
    } catch (err) {
      this.retryAt = Date.now() + 30_000
      this.node.log.emit(
        'hub_failed',
        { hub: hub.id, message: (err as Error).message },
        `could not reserve a slot on hub ${label}: ${(err as Error).message}`,
        'warn',
      )
    } finally {
      this.busy = false
    }
  }
}
