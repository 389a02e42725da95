// The SDK's TaskStore and PushNotificationStore, backed by the mesh: a task is the mesh task of the
// same id (the mesh is the only truth about its state), a push config a row of the node's store.
import { randomUUID } from 'node:crypto'
import type { ListTasksRequest, ListTasksResponse, Task, TaskPushNotificationConfig } from '@a2a-js/sdk'
import { RequestMalformedError } from '@a2a-js/sdk/errors'
import type { PushNotificationStore, ServerCallContext, TaskStore } from '@a2a-js/sdk/server'
import type { ClawLinkNode } from '../core/index.js'
import type { TaskRow } from '../protocols/tasks/index.js'
import { taskOf } from './mapping.js'
import { type BridgeStore, MAX_CONFIGS_PER_TASK } from './store.js'

/** The mesh task this bridge delegated under `id` (the node's own agent is its delegator). */
export function sentRow(node: ClawLinkNode, id: string): TaskRow | undefined {
  return node.taskStore.find(id).find((t) => t.direction === 'sent')
}

/** Tasks scanned per ListTasks page when a status filter drops some. */
const LIST_SCAN = 1000

export class MeshTaskStore implements TaskStore {
  constructor(
    private readonly node: ClawLinkNode,
    private readonly store: BridgeStore,
  ) {}

  async load(taskId: string): Promise<Task | undefined> {
    const bridged = this.store.task(taskId)
    if (bridged == null) return undefined
    const row = sentRow(this.node, taskId)
    return row != null ? taskOf(row, bridged.contextId) : undefined
  }

  /** The SDK saves what it derived from our own events: the mesh already holds it. */
  async save(_task: Task, _context: ServerCallContext): Promise<void> {}

  async list(params: ListTasksRequest): Promise<ListTasksResponse> {
    const pageSize = params.pageSize ?? 50
    let before = Number.MAX_SAFE_INTEGER
    if (params.pageToken !== '') {
      before = Number(params.pageToken)
      if (!Number.isSafeInteger(before))
        throw new RequestMalformedError('pageToken is not one this server gave')
    }
    const contextId = params.contextId !== '' ? params.contextId : null
    const after = params.statusTimestampAfter != null ? Date.parse(params.statusTimestampAfter) : undefined
    const filtered = params.status !== 0 || after != null
    const rows = this.store.tasks(contextId, before, filtered ? LIST_SCAN : pageSize + 1)
    const tasks: Task[] = []
    let last: number | undefined
    let more = false
    for (const b of rows) {
      const row = sentRow(this.node, b.taskId)
      if (row == null) continue
      const task = taskOf(row, b.contextId)
      if (params.status !== 0 && task.status?.state !== params.status) continue
      if (after != null && row.updatedAt <= after) continue
      if (tasks.length === pageSize) {
        more = true
        break
      }
      if (params.includeArtifacts !== true) task.artifacts = []
      tasks.push(task)
      last = b.createdAt
    }
    if (filtered && rows.length === LIST_SCAN) more = true
    return {
      tasks,
      nextPageToken: more && last != null ? String(last) : '',
      pageSize,
      totalSize: filtered ? tasks.length : this.store.count(contextId),
    }
  }
}

/** Only web addresses: a push goes to the client's own webhook. */
function checkWebhook(url: string): void {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new RequestMalformedError(`push notification url ${JSON.stringify(url.slice(0, 100))} is not a URL`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new RequestMalformedError('push notification url must be http or https')
}

export class MeshPushStore implements PushNotificationStore {
  constructor(private readonly store: BridgeStore) {}

  async save(taskId: string, _context: ServerCallContext, config: TaskPushNotificationConfig): Promise<void> {
    checkWebhook(config.url)
    if (config.id === '') config.id = randomUUID()
    if (config.id.length > 128) throw new RequestMalformedError('push notification config id is too long')
    if (this.store.configCount(taskId) >= MAX_CONFIGS_PER_TASK && !this.has(taskId, config.id))
      throw new RequestMalformedError(`at most ${MAX_CONFIGS_PER_TASK} push notification configs per task`)
    this.store.saveConfig(taskId, config.id, JSON.stringify({ ...config, taskId }))
  }

  async load(taskId: string): Promise<TaskPushNotificationConfig[]> {
    return this.configs(taskId)
  }

  async delete(taskId: string, _context: ServerCallContext, configId?: string): Promise<void> {
    this.store.deleteConfig(taskId, configId)
  }

  configs(taskId: string): TaskPushNotificationConfig[] {
    return this.store.configs(taskId).map((c) => JSON.parse(c) as TaskPushNotificationConfig)
  }

  private has(taskId: string, id: string): boolean {
    return this.configs(taskId).some((c) => c.id === id)
  }
}
