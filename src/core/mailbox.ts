// Where events for the agents of this node go: hosted agents (registered by an adapter such as the
// v1 API) take the task events addressed to them; everything else lands in the node's own inbox.
import type { TaskEvent, TaskRow } from '../protocols/tasks/index.js'
import type { Inbox, NewEvent } from './inbox.js'

/** An agent a recipient hosts, as `discover`, `--to` and `--cap` see it. */
export interface HostedAgentInfo {
  agentId: string
  name: string
  capabilities: string[]
  description: string
  machine: string
  /** epoch ms it was last heard from */
  lastHeartbeat: number
}

/**
 * Agents hosted on this node besides its own (the v1 API's). takeTask, onEvent and acceptLocal run
 * inside the storing transaction.
 */
export interface Recipient {
  /** the agents it hosts */
  agents?(): HostedAgentInfo[]
  /**
   * a local task (this node's agent delegated it to one of the recipient's agents, see
   * protocols/tasks/local-tasks.ts), new or canceled (`row.state`): true when it queued it
   */
  acceptLocal?(task: TaskRow): boolean
  /** a reply on a local task for one of its agents: true when it took it */
  acceptReply?(task: TaskRow, text: string): boolean
  /** a task event: true when one of its agents took it, so it does not reach the node's inbox */
  takeTask?(event: TaskEvent): boolean
  /** every event appended to the node's inbox (broadcasts and file changes reach hosted agents too) */
  onEvent?(event: NewEvent): void
}

export class Mailbox {
  private readonly recipients: Recipient[] = []

  constructor(readonly inbox: Inbox) {}

  /** Register before the node starts, so nothing arrives before the recipient can take it. */
  register(recipient: Recipient): void {
    this.recipients.push(recipient)
    if (recipient.onEvent != null) this.inbox.onAppend((event) => recipient.onEvent!(event))
  }

  /** A task event: to the hosted agent it is for, else to the node's inbox as `json()`. */
  deliverTask(event: TaskEvent, json: () => NewEvent): void {
    for (const r of this.recipients) if (r.takeTask?.(event) === true) return
    this.inbox.append(json())
  }

  /** Every agent hosted on this node. */
  hostedAgents(): HostedAgentInfo[] {
    return this.recipients.flatMap((r) => r.agents?.() ?? [])
  }

  /** Hands a local task (new or canceled) to the hosted agent it is for; inside the storing transaction. */
  acceptLocal(task: TaskRow): boolean {
    return this.recipients.some((r) => r.acceptLocal?.(task) === true)
  }

  /** Hands a reply on a local task to the hosted agent it is for; inside the storing transaction. */
  acceptReply(task: TaskRow, text: string): boolean {
    return this.recipients.some((r) => r.acceptReply?.(task, text) === true)
  }

  append(event: NewEvent): void {
    this.inbox.append(event)
  }

  /**
   * Something this node did itself (its own broadcast or file write): not news to its own agent, but
   * its hosted agents get it as any other node's agents would. Call inside the storing transaction.
   */
  shareOwn(event: NewEvent): void {
    for (const r of this.recipients) r.onEvent?.(event)
  }
}
