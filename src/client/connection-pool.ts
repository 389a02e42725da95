// The persistent connections of a long-lived control client (the MCP server, benchmarks): a few open
// connections reused one request at a time, so a call costs one round trip, not a connect and a
// socket-folder check. Idle ones close after a while and never keep the process alive.
import { ControlConnection } from './control-connection.js'

export interface PoolOptions {
  /** persistent connections at most; a request beyond them gets a connection of its own */
  max: number
  /** an idle connection is closed after this long (ms) */
  idleMs: number
  /** checks the socket before each new connection (throws if it is not safe to talk to) */
  check(): void
}

export interface Lease {
  conn: ControlConnection
  /** the connection carried requests before: the server may have closed it meanwhile */
  reused: boolean
  /** kept in the pool after the request (else `Connection: close`) */
  persistent: boolean
}

export class ConnectionPool {
  /** idle connections, most recently used last */
  private readonly idle: ControlConnection[] = []
  /** persistent connections open (idle or busy) */
  private readonly open = new Set<ControlConnection>()
  private idleMs: number
  /** connections opened so far (persistent or not) */
  opened = 0

  constructor(
    private readonly socketPath: string,
    private readonly opts: PoolOptions,
  ) {
    this.idleMs = opts.idleMs
  }

  /** A connection for one request: an idle one if any, else a new one. `fresh` skips the idle ones. */
  take(fresh = false): Lease {
    if (!fresh) {
      // the most recently used first: the least likely to have been closed by the server
      for (let conn = this.idle.pop(); conn != null; conn = this.idle.pop()) {
        if (conn.usable) return { conn, reused: true, persistent: true }
      }
    }
    this.opts.check()
    const conn = new ControlConnection(this.socketPath)
    this.opened++
    if (this.open.size >= this.opts.max) return { conn, reused: false, persistent: false }
    this.open.add(conn)
    conn.onClosed = () => {
      this.open.delete(conn)
      const at = this.idle.indexOf(conn)
      if (at >= 0) this.idle.splice(at, 1)
    }
    return { conn, reused: false, persistent: true }
  }

  /** Back from a request that was answered: kept for the next one, or closed. */
  give(lease: Lease, idleHintMs?: number) {
    const { conn } = lease
    // an answer that ended its connection (`Connection: close`) leaves the closing to the node
    if (!conn.usable) return
    if (!lease.persistent) return conn.destroy()
    // close before the server would: a request sent as it closes an idle connection may be lost
    if (idleHintMs != null) this.idleMs = Math.min(this.opts.idleMs, idleHintMs - 1000)
    if (this.idleMs <= 0) return conn.destroy()
    conn.idle(this.idleMs)
    this.idle.push(conn)
  }

  /** Closes every connection; a request still running on one fails as canceled. Later requests open new ones. */
  close(): void {
    this.idle.length = 0
    for (const conn of [...this.open]) conn.destroy()
  }
}
