// A stored task as the control API shows it (TaskJson): this agent on its side of the task, the context
// parsed back into JSON, times as ISO text. Presentation belongs to the node, not the tasks protocol.
import type { TaskJson } from '../api/types.js'
import type { TaskRow } from '../protocols/tasks/index.js'

export function taskJson(row: TaskRow, self: { id: string; name: string }): TaskJson {
  const peer = { id: row.peer, name: row.peerName }
  let context: unknown = null
  if (row.context != null) {
    try {
      context = JSON.parse(row.context)
    } catch {
      context = row.context
    }
  }
  return {
    id: row.id,
    direction: row.direction,
    from: row.direction === 'sent' ? self : peer,
    to: row.direction === 'sent' ? peer : self,
    task: row.task,
    context,
    priority: row.priority,
    state: row.state,
    result: row.result,
    reason: row.reason,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
    expiresAt: new Date(row.expiresAt).toISOString(),
    ...(row.direction === 'sent' && row.toAgent != null ? { toAgent: row.toAgent } : {}),
  }
}
