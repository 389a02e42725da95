// The suspicion side of presence (issue 17): peers this node lost (LinkWatch found a broken link it
// could not dial back) go out as suspects in its next announcements, and suspicions in others'
// announcements are held in the table, or, about this node, answered by announcing at once.
import type { Connection, Libp2pEvents, Logger, PeerId, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { ANNOUNCE_DEBOUNCE, MAX_SUSPECTS, REFUTE_INTERVAL } from './constants.js'
import { LinkWatch } from './link-watch.js'
import type { Suspect } from './pb/presence.js'
import type { PeerTable, StatusChange } from './peer-table.js'
import { parseSuspects, toSuspect } from './suspects.js'

export interface SuspicionInit {
  table: PeerTable
  self: PeerId
  /** this node's run: a suspicion of an earlier run of ours needs no answer */
  startedAt: bigint
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  log: Logger
  now: () => number
  /** presence is running and not stopping */
  running: () => boolean
  /** a status change to report (peer:status) */
  changed: (change: StatusChange) => void
  /** announces soon (coalesced), to carry suspects */
  announceSoon: () => void
  /** announces now, to answer a suspicion of this node */
  announce: () => void
  probeDelay?: number
  probeTimeout?: number
}

export class Suspicion {
  private readonly watch: LinkWatch
  /** peers lost and not yet named in an announcement */
  private outgoing: Suspect[] = []
  private refuteTimer?: ReturnType<typeof setTimeout>
  private lastRefute = Number.NEGATIVE_INFINITY

  constructor(private readonly init: SuspicionInit) {
    const { connectionManager } = init
    const open = (c: Connection) => c.status === 'open'
    this.watch = new LinkWatch({
      worthProbing: (id) => this.reachable(id),
      connected: (peer) => connectionManager.getConnections(peer).some(open),
      connections: () => connectionManager.getConnections().filter(open).length,
      dial: (peer, signal) => connectionManager.openConnection(peer, { signal }),
      unreachable: (peer) => this.lost(peer),
      delay: init.probeDelay,
      timeout: init.probeTimeout,
    })
    this.onClose = this.onClose.bind(this)
  }

  start(): void {
    this.init.events.addEventListener('connection:close', this.onClose)
    this.watch.start()
  }

  stop(): void {
    this.init.events.removeEventListener('connection:close', this.onClose)
    this.watch.stop()
    clearTimeout(this.refuteTimer)
    this.refuteTimer = undefined
  }

  /** The suspects for the next announcement (at most MAX_SUSPECTS: the rest go in the one after). */
  take(): Suspect[] {
    const suspects = this.outgoing.splice(0, MAX_SUSPECTS)
    if (this.outgoing.length > 0) this.init.announceSoon()
    return suspects
  }

  /** A peer we lost and could not dial back: stale here at once, and named in our next announcement. */
  lost(peer: PeerId): void {
    const { table } = this.init
    const id = peer.toString()
    const record = table.get(id)
    if (record == null) return
    const { startedAt } = record.card
    const { applied, change } = table.suspect(id, startedAt, record.seq, this.init.self.toString())
    if (change != null) this.init.changed(change)
    if (!applied) return
    this.init.log('%p unreachable after its link broke: telling the mesh', peer)
    this.outgoing.push(toSuspect(peer, startedAt, record.seq))
    this.init.announceSoon()
  }

  /** Suspicions in a gossiped announcement of `from`: of others, held; of this run of ours, answered. */
  apply(from: PeerId, suspects: Suspect[]): void {
    const self = this.init.self.toString()
    for (const s of parseSuspects(suspects)) {
      if (s.peer === self) {
        if (s.startedAt === this.init.startedAt) this.refute()
        continue
      }
      const { change } = this.init.table.suspect(s.peer, s.startedAt, s.seq, from.toString())
      if (change != null) this.init.changed(change)
    }
  }

  /** Whether a broken link to `id` is worth a dial back: a member we hold as reachable. */
  private reachable(id: string): boolean {
    const { table } = this.init
    const record = table.get(id)
    return (
      this.init.running() && record != null && record.suspected == null && table.status(record) !== 'offline'
    )
  }

  private onClose(evt: CustomEvent<Connection>): void {
    if (this.init.running()) this.watch.closed(evt.detail)
  }

  /** Announces soon, at most once per REFUTE_INTERVAL: a newer message of ours clears the suspicion. */
  private refute(): void {
    if (this.refuteTimer != null || !this.init.running()) return
    const wait = Math.max(ANNOUNCE_DEBOUNCE, this.lastRefute + REFUTE_INTERVAL - this.init.now())
    this.refuteTimer = setTimeout(() => {
      this.refuteTimer = undefined
      this.lastRefute = this.init.now()
      this.init.announce()
    }, wait)
  }
}
