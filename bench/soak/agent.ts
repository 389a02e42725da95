// One agent per node, inside the soak process, doing what an agent does through its node's control API:
// delegate tasks to the others, answer the tasks it gets, broadcast, and write shared and own files.
// It keeps a ledger of what it did and saw, which the verifier checks against every node at the end.
//
// Its node is SIGKILLed now and then. Requests then fail, and the agent retries once the node is back.
// Whatever was in flight is uncertain, so after a restart the agent does what a real one must:
// - it lists the tasks it received that are still open (delivered or working) and answers them. A
//   poll whose answer was cut by the kill left its events unseen, so the node hands them out again,
//   but an agent must not rely on having read an answer that never came. The node is allowed one
//   repeat more (docs/architecture.md, Inbox): the events of the last poll answer it wrote before the
//   kill, if the kill came before it committed them as seen. Such a repeat is counted apart
//   (`repeatedAfterKill`); any other second hand-out is an anomaly;
// - a delegate cut by the kill may or may not have been stored: it looks for the task's token among
//   its node's tasks, so a stored task is tracked (and must complete) and one never stored is counted
//   as never sent;
// - a respond cut by the kill is sent again; the node refusing it as already completed proves the
//   first one was stored.
import { randomBytes } from 'node:crypto'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { BroadcastJson, EventJson, FileJson, TaskJson } from '../../dist/api/types.js'
import type { SoakNode } from './cluster.ts'

const FINAL = new Set(['completed', 'failed', 'canceled', 'rejected', 'expired'])
const TRANSPORT =
  /is not running|cannot talk to the node|did not answer in time|sent a malformed answer|went away while answering/
const MAX_ANOMALIES = 100
const POLL_WAIT = 1_000
const SHARED_KEYS = 4
const OWN_KEYS = 3
export const TOPIC = 'soak'

/** A failure of the connection to the node (it is down or was killed mid-request), not a refusal. */
export function isTransport(err: unknown): boolean {
  return err instanceof Error && TRANSPORT.test(err.message)
}

/** The node was down: the request never reached it (no socket, or no one listening on it). */
export function neverReached(err: unknown): boolean {
  return err instanceof Error && /is not running/.test(err.message)
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** What the responder puts in a result, so the delegator can check it got its own task's answer. */
export function expectedResult(id: string, responder: string): string {
  return `done ${id} by ${responder}`
}

export interface Delegated {
  to: number
  token: string
}

export interface AgentPace {
  taskEveryMs: number
  broadcastEveryMs: number
  fileEveryMs: number
}

export class SoakAgent {
  /** tasks this agent delegated, by id */
  readonly delegated = new Map<string, Delegated>()
  /** delegated tasks found in the node after their request was cut */
  recoveredDelegations = 0
  /** delegate requests cut before the node stored them */
  uncommitted = 0
  /** received task id -> times poll handed it out (a repeat the kill window allows not counted) */
  readonly polled = new Map<string, number>()
  /** tasks handed out again after a kill because they were in the last poll answer before it */
  repeatedAfterKill = 0
  /** the tasks of the last poll answer, and of the last one before the latest kill */
  private lastAnswer = new Set<string>()
  private cutByKill = new Set<string>()
  /** received tasks answered because the open-task listing after a restart had them, not yet polled */
  readonly recovered = new Set<string>()
  /** received tasks the node accepted an answer for */
  readonly answered = new Set<string>()
  /** delegated task id -> final task_update events poll handed out */
  readonly finals = new Map<string, number>()
  /** broadcasts the node accepted from this agent */
  readonly broadcasts = new Set<string>()
  broadcastEvents = 0
  fileEvents = 0
  filePuts = 0
  fileRemovals = 0
  /** requests that failed because the node was down or went down */
  transportErrors = 0
  /** what should never happen, first MAX_ANOMALIES; `anomalyCount` counts them all */
  readonly anomalies: string[] = []
  anomalyCount = 0

  /** delegate requests cut by a kill: token -> target and the node generation it was sent in */
  private readonly uncertain = new Map<string, Delegated & { generation: number; error: string }>()
  /** received tasks to answer -> whether an earlier attempt was cut (and so may have been stored) */
  private readonly toAnswer = new Map<string, boolean>()
  private syncedGeneration: number
  private loading = true
  private running = true
  private readonly loops: Promise<void>[] = []
  private seq = 0
  private readonly ownKeys = new Set<string>()

  readonly node: SoakNode
  private readonly peers: SoakNode[]
  private readonly scratch: string
  private readonly pace: AgentPace

  constructor(node: SoakNode, peers: SoakNode[], scratch: string, pace: AgentPace) {
    this.node = node
    this.peers = peers
    this.scratch = scratch
    this.pace = pace
    this.syncedGeneration = node.generation
  }

  get name(): string {
    return this.node.name
  }

  start(): void {
    this.loops.push(this.pollLoop(), this.delegateLoop(), this.broadcastLoop(), this.fileLoop())
  }

  /** Stops making new work; keeps polling and answering so the mesh can settle. */
  async stopLoad(): Promise<void> {
    this.loading = false
    await Promise.all(this.loops.slice(1))
  }

  /** Stops everything. */
  async stop(): Promise<void> {
    this.loading = false
    this.running = false
    await Promise.all(this.loops)
  }

  /** Received tasks still waiting for this agent's answer. */
  get unanswered(): number {
    return this.toAnswer.size
  }

  get pendingDelegations(): number {
    return this.uncertain.size
  }

  /** Why the unresolved delegations were cut, and in which node generation (for a report). */
  pendingDetails(): string[] {
    return [...this.uncertain.values()].map(
      (d) => `${d.token} (generation ${d.generation}, now ${this.node.generation}): ${d.error}`,
    )
  }

  anomaly(message: string): void {
    this.anomalyCount++
    if (this.anomalies.length < MAX_ANOMALIES) this.anomalies.push(`${this.name}: ${message}`)
  }

  /** Settles cut delegations: a task stored by the node is tracked, one that is not was never sent. */
  async reconcileDelegations(): Promise<void> {
    if (this.uncertain.size === 0) return
    const generation = this.node.generation
    // newest first; a cut request is at most one kill interval old, far within the listing
    const rows = await this.node.api.get<TaskJson[]>('/v1/tasks')
    const byText = new Map(rows.filter((r) => r.direction === 'sent').map((r) => [r.task, r]))
    for (const [token, d] of this.uncertain) {
      const row = byText.get(`soak ${token}`)
      if (row != null) {
        this.delegated.set(row.id, { to: d.to, token })
        this.recoveredDelegations++
        this.uncertain.delete(token)
      } else if (generation !== d.generation) {
        // the process that had the request is gone and did not store it
        this.uncommitted++
        this.uncertain.delete(token)
      }
    }
  }

  private async pollLoop(): Promise<void> {
    while (this.running) {
      try {
        if (this.syncedGeneration !== this.node.generation) {
          const generation = this.node.generation
          // the last answer of the generation that ended may not have been committed as seen
          this.cutByKill = this.lastAnswer
          this.lastAnswer = new Set()
          await this.recoverOpenTasks()
          this.syncedGeneration = generation
        }
        await this.answerPending()
        const events = await this.node.api.get<EventJson[]>(`/v1/poll?wait=${POLL_WAIT}&limit=100`, {
          timeout: POLL_WAIT + 15_000,
        })
        const answer = new Set<string>()
        for (const e of events) {
          this.onEvent(e)
          if (e.type === 'task') answer.add(e.id)
        }
        if (answer.size > 0) this.lastAnswer = answer
        await this.answerPending()
      } catch (err) {
        await this.failed(err)
      }
    }
  }

  /** After a restart: the tasks this agent received that are still open get answered. */
  private async recoverOpenTasks(): Promise<void> {
    const open = await this.node.api.get<TaskJson[]>('/v1/tasks?open=1')
    for (const t of open) {
      if (t.direction !== 'received' || this.toAnswer.has(t.id)) continue
      if (this.answered.has(t.id)) {
        this.anomaly(`task ${t.id} is open (${t.state}) although its answer was accepted`)
        continue
      }
      if (!this.polled.has(t.id)) this.recovered.add(t.id)
      this.toAnswer.set(t.id, false)
    }
  }

  private onEvent(e: EventJson): void {
    if (e.type === 'task') {
      if (this.polled.get(e.id) === 1 && this.cutByKill.delete(e.id)) {
        this.repeatedAfterKill++
        return
      }
      const n = (this.polled.get(e.id) ?? 0) + 1
      this.polled.set(e.id, n)
      if (n > 1) this.anomaly(`task ${e.id} from ${e.from.name} was handed out by poll ${n} times`)
      if (!this.answered.has(e.id) && !this.toAnswer.has(e.id)) this.toAnswer.set(e.id, false)
    } else if (e.type === 'task_update') {
      if (e.state == null || !FINAL.has(e.state)) return
      const n = (this.finals.get(e.id) ?? 0) + 1
      this.finals.set(e.id, n)
      if (n > 1) this.anomaly(`the final update of task ${e.id} was handed out ${n} times`)
      if (e.state !== 'completed') this.anomaly(`task ${e.id} ended ${e.state}: ${e.reason ?? ''}`)
      else if (e.result !== expectedResult(e.id, e.from.name))
        this.anomaly(`task ${e.id} has the result ${JSON.stringify(e.result)}`)
    } else if (e.type === 'broadcast') {
      this.broadcastEvents++
    } else if (e.type === 'file_updated') {
      this.fileEvents++
    }
  }

  private async answerPending(): Promise<void> {
    for (const [id, cut] of this.toAnswer) {
      try {
        await this.node.api.post<TaskJson>('/v1/respond', {
          id,
          result: expectedResult(id, this.name),
          status: 'completed',
        })
        this.answered.add(id)
      } catch (err) {
        if (isTransport(err)) {
          if (!neverReached(err)) this.toAnswer.set(id, true)
          throw err
        }
        const message = (err as Error).message
        // a cut answer that the node had stored: the retry is refused, which is right
        if (!(cut && /is already completed/.test(message))) this.anomaly(`respond ${id}: ${message}`)
        else this.answered.add(id)
      }
      this.toAnswer.delete(id)
    }
  }

  private async delegateLoop(): Promise<void> {
    while (this.loading) {
      await this.wait(this.pace.taskEveryMs)
      if (!this.loading) break
      try {
        await this.reconcileDelegations()
        const others = this.peers.filter((p) => p !== this.node)
        const target = others[Math.floor(Math.random() * others.length)]!
        const token = `${this.name}-${++this.seq}`
        const generation = this.node.generation
        try {
          const row = await this.node.api.post<TaskJson>('/v1/tasks', {
            to: target.peerId,
            task: `soak ${token}`,
            context: JSON.stringify({ token }),
            priority: Math.random() < 0.2 ? 'high' : 'normal',
          })
          this.delegated.set(row.id, { to: target.index, token })
        } catch (err) {
          if (isTransport(err) && !neverReached(err))
            this.uncertain.set(token, { to: target.index, token, generation, error: (err as Error).message })
          throw err
        }
      } catch (err) {
        await this.failed(err)
      }
    }
  }

  private async broadcastLoop(): Promise<void> {
    while (this.loading) {
      await this.wait(this.pace.broadcastEveryMs)
      if (!this.loading) break
      try {
        const b = await this.node.api.post<BroadcastJson>('/v1/broadcast', {
          content: `soak ${this.name}-${++this.seq} ${randomBytes(16).toString('hex')}`,
          topic: TOPIC,
          tags: [this.name],
        })
        this.broadcasts.add(b.id)
      } catch (err) {
        await this.failed(err)
      }
    }
  }

  private async fileLoop(): Promise<void> {
    while (this.loading) {
      await this.wait(this.pace.fileEveryMs)
      if (!this.loading) break
      // sometimes two writes at once, so a node handles concurrent puts (and shared keys race others)
      const writes = Math.random() < 0.25 ? 2 : 1
      const results = await Promise.allSettled(Array.from({ length: writes }, () => this.writeFile()))
      for (const r of results) if (r.status === 'rejected') await this.failed(r.reason)
    }
  }

  private async writeFile(): Promise<void> {
    const own = Math.random() < 0.5
    const key = own
      ? `own/${this.name}/f${Math.floor(Math.random() * OWN_KEYS)}.bin`
      : `shared/f${Math.floor(Math.random() * SHARED_KEYS)}.bin`
    if (own && this.ownKeys.has(key) && Math.random() < 0.1) {
      // claimed before the await, so a concurrent write never removes the same key twice
      this.ownKeys.delete(key)
      await this.node.api.post<FileJson>('/v1/files/rm', { key })
      this.fileRemovals++
      return
    }
    const path = join(this.scratch, `${this.name}-${++this.seq}.bin`)
    await writeFile(path, randomBytes(64 + Math.floor(Math.random() * 8192)))
    try {
      await this.node.api.post<FileJson>('/v1/files/put', { key, path })
      if (own) this.ownKeys.add(key)
      this.filePuts++
    } finally {
      await rm(path, { force: true })
    }
  }

  /** Paces a loop: the interval with ±50% jitter, cut short when the load stops. */
  private async wait(every: number): Promise<void> {
    const until = Date.now() + every * (0.5 + Math.random())
    while (this.loading && Date.now() < until) await sleep(Math.min(250, until - Date.now()))
  }

  private async failed(err: unknown): Promise<void> {
    if (isTransport(err)) this.transportErrors++
    else this.anomaly((err as Error).message ?? String(err))
    await sleep(200)
  }
}
