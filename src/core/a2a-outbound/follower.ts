// One mesh task for an external A2A agent, carried through: SendMessage (retried with backoff until the
// task's TTL while the agent is down), then the A2A task followed (a stream where the card offers one,
// else GetTask with backoff) and its states turned into the mesh task's responses; the delegator's
// replies go to it as follow-up messages, a cancel as CancelTask. Every step starts from the durable
// job (a2a-store.ts), so a node killed at any point carries on where it was after a restart.
import type { Task } from '@a2a-js/sdk'
import type { Client } from '@a2a-js/sdk/client'
import type { TaskRow } from '../../protocols/tasks/index.js'
import { TERMINAL } from '../../protocols/tasks/index.js'
import type { A2aJob, A2aStore } from './a2a-store.js'
import { A2aBridgeError } from './errors.js'
import { type MeshUpdate, meshUpdate, partsText, userMessage } from './mapping.js'

const RETRY_MIN = 1000
const RETRY_MAX = 15_000
const POLL_MIN = 500
const POLL_MAX = 10_000

export interface BridgeHost {
  store: A2aStore
  /** the mesh task the job carries (undefined once gone) */
  row(job: A2aJob): TaskRow | undefined
  /** answers the mesh task as its assignee (durably, through the outbox) */
  answer(job: A2aJob, update: MeshUpdate): Promise<void>
  client(agent: string): Promise<{ client: Client; streaming: boolean }>
  /** runs store writes in a transaction of their own */
  write(fn: () => void): void
  emit(event: string, fields: Record<string, unknown>, text: string, level?: 'info' | 'warn'): void
}

type Next = 'again' | 'changed' | 'wait'

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done)
  })
}

const isTask = (r: object): r is Task => 'status' in r && 'artifacts' in r

export class Follower {
  private wake = new AbortController()
  private stopped = false
  /** the input-required status last passed on, so the same question is not asked twice */
  private asked?: string

  constructor(
    private readonly host: BridgeHost,
    readonly peer: string,
    readonly taskId: string,
  ) {}

  /** Something changed for the task (a reply, a cancel): act on it now. */
  kick(): void {
    this.wake.abort()
  }

  stop(): void {
    this.stopped = true
    this.wake.abort()
  }

  async run(): Promise<void> {
    let retry = RETRY_MIN
    let poll = POLL_MIN
    while (!this.stopped) {
      const job = this.host.store.job(this.peer, this.taskId)
      if (job == null || job.phase === 'done') return
      this.wake = new AbortController()
      const { signal } = this.wake
      try {
        const next = await this.step(job, signal)
        retry = RETRY_MIN
        if (next === 'again') continue
        if (next === 'changed') poll = POLL_MIN
        await sleep(poll, signal)
        poll = Math.min(poll * 2, POLL_MAX)
      } catch (err) {
        if (signal.aborted) continue
        this.failed(job, err as Error, retry)
        await sleep(retry, signal)
        retry = Math.min(retry * 2, RETRY_MAX)
      }
    }
  }

  private done(job: A2aJob): Next {
    this.host.write(() => this.host.store.setPhase(job, 'done'))
    return 'again'
  }

  private failed(job: A2aJob, err: Error, retryInMs: number): void {
    this.host.write(() => this.host.store.recordError(job, err.message))
    const attempt = job.attempts + 1
    if (attempt !== 1 && attempt % 10 !== 0) return
    this.host.emit(
      'a2a_failed',
      { task: job.taskId, agent: job.agent, phase: job.phase, attempt, retryInMs, error: err.message },
      `A2A agent ${job.agent}: ${job.phase} for task ${job.taskId.slice(0, 8)} failed (attempt ${attempt}): ${err.message}; retrying in ${Math.round(retryInMs / 1000)} s`,
      'warn',
    )
  }

  private async step(job: A2aJob, signal: AbortSignal): Promise<Next> {
    const row = this.host.row(job)
    if (row == null) return this.done(job)
    if (job.phase === 'cancel') return this.cancel(job, signal)
    if (TERMINAL.has(row.state)) return this.done(job)
    let client: Awaited<ReturnType<BridgeHost['client']>>
    try {
      client = await this.host.client(job.agent)
    } catch (err) {
      if (!(err instanceof A2aBridgeError) || err.code !== 'not_found') throw err
      await this.host.answer(job, { state: 'failed', result: '', reason: err.message, final: true })
      return this.done(job)
    }
    return job.phase === 'send'
      ? this.send(job, row, client.client, signal)
      : this.follow(job, client, signal)
  }

  private async send(job: A2aJob, row: TaskRow, client: Client, signal: AbortSignal): Promise<Next> {
    if (Date.now() >= job.expiresAt) {
      const last = this.host.store.lastError(job) ?? 'no answer'
      const reason = `not delivered to the A2A agent before the task's TTL ran out (${last})`
      await this.host.answer(job, { state: 'failed', result: '', reason, final: true })
      return this.done(job)
    }
    const context = row.context != null ? (JSON.parse(row.context) as unknown) : undefined
    // the mesh task id as the message id: an agent that deduplicates sees a resend as the same message
    const req = userMessage(job.taskId, row.task, { context, from: row.peerName })
    const res = await client.sendMessage(req, { signal })
    if (!isTask(res)) {
      // a direct answer, no task: that is the result
      await this.host.answer(job, {
        state: 'completed',
        result: partsText(res.parts),
        reason: null,
        final: true,
      })
      return this.done(job)
    }
    this.host.write(() => this.host.store.markSent(job, res.id, res.contextId))
    this.host.emit(
      'a2a_task_sent',
      { task: job.taskId, agent: job.agent, a2aTask: res.id },
      `task ${job.taskId.slice(0, 8)} sent to A2A agent ${job.agent} (A2A task ${res.id})`,
    )
    await this.apply({ ...job, phase: 'follow', remoteId: res.id }, res)
    return 'again'
  }

  private async follow(
    job: A2aJob,
    { client, streaming }: { client: Client; streaming: boolean },
    signal: AbortSignal,
  ): Promise<Next> {
    const id = job.remoteId!
    for (const reply of this.host.store.replies(job)) {
      const req = userMessage(`${job.taskId}.r${reply.seq}`, reply.text, {
        taskId: id,
        contextId: job.contextId ?? undefined,
      })
      await client.sendMessage(req, { signal })
      this.host.write(() => this.host.store.dropReply(reply.seq))
    }
    let task: Task
    try {
      task = await client.getTask({ tenant: '', id }, { signal })
    } catch (err) {
      if (signal.aborted || !/not found/i.test((err as Error).message)) throw err
      // the agent forgot the task (restarted without its store, say): waiting would be forever
      const reason = `the A2A agent no longer knows its task ${id}: ${(err as Error).message}`
      await this.host.answer(job, { state: 'failed', result: '', reason, final: true })
      return this.done(job)
    }
    const changed = await this.apply(job, task)
    if (this.host.store.job(job.peer, job.taskId)?.phase !== 'follow') return 'again'
    if (!streaming) return changed ? 'changed' : 'wait'
    // the stream says when something happens; the task is then read whole (with its artifacts). It
    // opens with the task as it is: a state other than the one just read changed in between
    for await (const event of client.resubscribeTask({ tenant: '', id }, { signal })) {
      const p = event.payload
      if (p?.$case === 'statusUpdate') return 'again'
      if (p?.$case === 'task' && p.value.status?.state !== task.status?.state) return 'again'
    }
    return 'changed'
  }

  /** Passes the A2A task's state on to the mesh task; true when that changed something. */
  private async apply(job: A2aJob, task: Task): Promise<boolean> {
    const update = meshUpdate(task)
    if (update == null) return false
    const row = this.host.row(job)
    if (row == null || TERMINAL.has(row.state)) {
      this.done(job)
      return true
    }
    if (!update.final) {
      if (update.state === 'input-required') {
        // the question already passed on (also before a restart), or still shown after our reply
        const key = `${task.status?.timestamp ?? ''}|${update.result}`
        if (key === this.asked || (row.state === 'input-required' && row.result === update.result))
          return false
        this.asked = key
      } else if (row.state === update.state) return false
    }
    await this.host.answer(job, update)
    if (update.final) this.done(job)
    return true
  }

  private async cancel(job: A2aJob, signal: AbortSignal): Promise<Next> {
    // best effort: an agent down for long does not hold the job forever
    if (job.remoteId != null && job.attempts < 20) {
      try {
        const { client } = await this.host.client(job.agent)
        await client.cancelTask({ tenant: '', id: job.remoteId, metadata: undefined }, { signal })
      } catch (err) {
        // an agent that cannot cancel (or is gone) ends the job as well; a network error is retried
        if (
          !(err instanceof A2aBridgeError) &&
          !/cancel|not found|final|terminal/i.test((err as Error).message)
        )
          throw err
      }
    }
    return this.done(job)
  }
}
