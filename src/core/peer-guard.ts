// Who may connect: an optional allow-list, and peers banned for a while after misbehaving. Plugged into
// libp2p as its connection gater, so a refused peer gets no connection at all.
import type { ConnectionGater, PeerId } from '@libp2p/interface'

export interface PeerGuardInit {
  /** PeerIds allowed to connect; empty: any member of the mesh. */
  allow?: string[]
  /** Offences (bad messages, floods) tolerated per peer within `window` before a ban. */
  maxOffences?: number
  window?: number
  /** How long a ban lasts. */
  banFor?: number
  now?: () => number
}

export class PeerGuard {
  private readonly allow?: Set<string>
  private readonly maxOffences: number
  private readonly window: number
  private readonly banFor: number
  private readonly now: () => number
  private readonly offences = new Map<string, number[]>()
  private readonly banned = new Map<string, number>()

  constructor(init: PeerGuardInit = {}) {
    this.allow = init.allow != null && init.allow.length > 0 ? new Set(init.allow) : undefined
    this.maxOffences = init.maxOffences ?? 20
    this.window = init.window ?? 60_000
    this.banFor = init.banFor ?? 10 * 60_000
    this.now = init.now ?? Date.now
  }

  /** Why this peer may not connect, or undefined if it may. */
  refusal(peer: string): string | undefined {
    if (this.allow != null && !this.allow.has(peer)) return 'not on the allow-list'
    const until = this.banned.get(peer)
    if (until != null) {
      if (until > this.now()) return `banned until ${new Date(until).toISOString()}`
      this.banned.delete(peer)
    }
    return undefined
  }

  /** Counts one offence; returns the ban's end time when this one crosses the limit. */
  offence(peer: string): number | undefined {
    const now = this.now()
    const recent = (this.offences.get(peer) ?? []).filter((t) => t > now - this.window)
    recent.push(now)
    this.offences.set(peer, recent)
    if (recent.length < this.maxOffences || this.banned.has(peer)) return undefined
    this.offences.delete(peer)
    const until = now + this.banFor
    this.banned.set(peer, until)
    return until
  }

  isBanned(peer: string): boolean {
    return this.refusal(peer)?.startsWith('banned') === true
  }

  gater(): ConnectionGater {
    const deny = (peerId: PeerId) => this.refusal(peerId.toString()) != null
    return {
      denyDialPeer: deny,
      denyInboundEncryptedConnection: deny,
      denyOutboundEncryptedConnection: deny,
      denyInboundRelayReservation: deny,
      denyOutboundRelayedConnection: (source, destination) => deny(source) || deny(destination),
    }
  }
}
