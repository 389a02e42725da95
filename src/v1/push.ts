// Pushes a v1 agent's queue (the same rows poll hands out) to its open WebSockets, oldest first. A row
// leaves the queue only once one socket has written it (ws's send callback), so a socket that drops
// mid-stream loses nothing: what it did not write is pushed again on the next socket, in order.
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { WebSocket } from 'ws'

/** Rows read from the queue per pass. */
const BATCH = 64
/** Rows written to an agent's sockets whose callback has not come back yet. */
const MAX_IN_FLIGHT = 256

export interface PushLimits {
  /** Stop pushing to an agent while any of its sockets buffers more than this (bytes). */
  highWater: number
}

interface Pending {
  /** sockets that have not called back yet */
  left: number
  delivered: boolean
}

interface AgentPush {
  sockets: WebSocket[]
  /** the last queue seq handed to the sockets */
  cursor: number
  pending: Map<number, Pending>
  scheduled: boolean
}

export class V1Push {
  private readonly agents = new Map<string, AgentPush>()
  private readonly peek: StatementSync
  private readonly remove: StatementSync

  constructor(
    db: DatabaseSync,
    private readonly limits: PushLimits,
    private readonly onError: (err: Error) => void,
  ) {
    this.peek = db.prepare(
      'SELECT seq, payload FROM v1_queue WHERE agent_id = ? AND seq > ? ORDER BY seq LIMIT ?',
    )
    this.remove = db.prepare('DELETE FROM v1_queue WHERE seq = ?')
  }

  private state(agentId: string): AgentPush {
    let st = this.agents.get(agentId)
    if (st == null) {
      st = { sockets: [], cursor: 0, pending: new Map(), scheduled: false }
      this.agents.set(agentId, st)
    }
    return st
  }

  /** The agent's sockets, oldest first. */
  sockets(agentId: string): readonly WebSocket[] {
    return this.agents.get(agentId)?.sockets ?? []
  }

  /** Every socket of every agent. */
  *all(): Iterable<[string, WebSocket]> {
    for (const [agentId, st] of this.agents) for (const ws of st.sockets) yield [agentId, ws]
  }

  add(agentId: string, ws: WebSocket): void {
    const st = this.state(agentId)
    st.sockets.push(ws)
    // a new socket may be the only one: start from the oldest row not yet written anywhere
    if (st.sockets.length === 1 && st.pending.size === 0) st.cursor = 0
    this.schedule(agentId)
  }

  delete(agentId: string, ws: WebSocket): void {
    const st = this.agents.get(agentId)
    if (st == null) return
    st.sockets = st.sockets.filter((s) => s !== ws)
    this.forget(agentId, st)
  }

  /** Something was queued for the agent (called inside the store's transaction): push after it commits. */
  schedule(agentId: string): void {
    const st = this.agents.get(agentId)
    if (st == null || st.scheduled || st.sockets.length === 0) return
    st.scheduled = true
    setImmediate(() => {
      st.scheduled = false
      try {
        this.pump(agentId, st)
      } catch (err) {
        this.onError(err as Error)
      }
    })
  }

  private forget(agentId: string, st: AgentPush): void {
    if (st.sockets.length === 0 && st.pending.size === 0 && this.agents.get(agentId) === st)
      this.agents.delete(agentId)
  }

  private pump(agentId: string, st: AgentPush): void {
    for (;;) {
      const open = st.sockets.filter((s) => s.readyState === WebSocket.OPEN)
      if (open.length === 0) return
      const rows = this.peek.all(agentId, st.cursor, BATCH) as Array<{ seq: number; payload: string }>
      if (rows.length === 0) return
      for (const row of rows) {
        // backpressure: the send callbacks of what is buffered schedule the next pass
        if (st.pending.size >= MAX_IN_FLIGHT) return
        if (open.some((s) => s.bufferedAmount > this.limits.highWater)) return
        st.cursor = row.seq
        if (st.pending.has(row.seq)) continue
        const p: Pending = { left: open.length, delivered: false }
        st.pending.set(row.seq, p)
        for (const s of open) s.send(row.payload, (err) => this.written(agentId, st, row.seq, p, err))
      }
    }
  }

  private written(agentId: string, st: AgentPush, seq: number, p: Pending, err: Error | undefined): void {
    p.left -= 1
    if (err == null && !p.delivered) {
      p.delivered = true
      try {
        this.remove.run(seq)
      } catch (e) {
        this.onError(e as Error)
      }
    }
    if (p.left > 0) return
    st.pending.delete(seq)
    // written nowhere: it stays queued and goes out again from here (next socket, or poll)
    if (!p.delivered && st.cursor >= seq) st.cursor = seq - 1
    this.forget(agentId, st)
    this.schedule(agentId)
  }

  close(): void {
    this.agents.clear()
  }
}
