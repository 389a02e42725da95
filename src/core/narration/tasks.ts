// Log lines for what the tasks protocol reports.
import type { TaskRow } from '../../protocols/tasks/index.js'
import type { ClawLinkNode } from '../node.js'
import { excerpt, labeller } from './label.js'

const short = (id: string) => id.slice(0, 8)

export function narrateTasks(node: ClawLinkNode): void {
  const { log, tasks } = node
  const label = labeller(node)
  tasks.addEventListener('task:received', ({ detail: t }) => {
    log.emit(
      'task_received',
      { task: t.id, from: t.peer, name: t.peerName, priority: t.priority },
      `task ${short(t.id)} from ${label(t.peer)} (${t.priority}): ${excerpt(t.task)}`,
    )
  })
  // a task for a hosted (v1) agent names it: `toAgent` (on this node itself for a local task)
  const agent = (t: TaskRow) => (t.direction === 'sent' && t.toAgent != null ? { toAgent: t.toAgent } : {})
  const on = (t: TaskRow) => (t.direction === 'sent' && t.toAgent != null ? `${t.toAgent} on ` : '')
  tasks.addEventListener('task:delivered', ({ detail: t }) => {
    log.emit(
      'task_delivered',
      { task: t.id, to: t.peer, ...agent(t) },
      `task ${short(t.id)} delivered to ${on(t)}${label(t.peer)}`,
    )
  })
  tasks.addEventListener('task:updated', ({ detail: t }) => {
    const who = t.direction === 'sent' ? `${on(t)}${label(t.peer)}` : `${label(t.peer)} (delegator)`
    log.emit(
      'task_updated',
      { task: t.id, peer: t.peer, state: t.state, direction: t.direction, ...agent(t) },
      `task ${short(t.id)} is ${t.state}, says ${who}`,
    )
  })
  tasks.addEventListener('task:replied', ({ detail: t }) => {
    log.emit(
      'task_replied',
      { task: t.id, from: t.peer, state: t.state },
      `task ${short(t.id)}: ${label(t.peer)} (delegator) replied`,
    )
  })
  tasks.addEventListener('task:expired', ({ detail: t }) => {
    log.emit(
      'task_expired',
      { task: t.id, to: t.peer, reason: t.reason },
      `task ${short(t.id)} for ${label(t.peer)} expired undelivered: ${t.reason}`,
      'warn',
    )
  })
  tasks.addEventListener('message:refused', ({ detail: m }) => {
    log.emit(
      'task_refused',
      { task: m.taskId, peer: m.peer, kind: m.kind, reason: m.reason },
      `${label(m.peer)} refused ${m.kind.toLowerCase()} for task ${short(m.taskId)}: ${m.reason}`,
      'warn',
    )
  })
  tasks.addEventListener('message:rejected', ({ detail: m }) => {
    log.emit(
      'task_rejected_incoming',
      { task: m.taskId, peer: m.peer, kind: m.kind, reason: m.reason },
      `refused ${m.kind.toLowerCase()} for task ${short(m.taskId)} from ${label(m.peer)}: ${m.reason}`,
      'warn',
    )
  })
  tasks.addEventListener('message:invalid', ({ detail: m }) => {
    log.emit('task_invalid', m, `dropped a bad task message from ${label(m.peer)}: ${m.reason}`, 'warn')
  })
  tasks.addEventListener('store:failed', ({ detail: m }) => {
    const reason = node.storeProblem(m.error)?.message ?? m.error.message
    log.emit(
      'store_error',
      { task: m.taskId, peer: m.peer, kind: m.kind, reason },
      `could not store ${m.kind.toLowerCase()} for task ${short(m.taskId)} from ${label(m.peer)}, so it is not acknowledged (it will be sent again): ${reason}`,
      'error',
    )
  })
  tasks.addEventListener('message:throttled', ({ detail: m }) => {
    log.emit(
      'task_throttled',
      m,
      `${label(m.peer)} sends tasks faster than allowed; holding back the excess`,
      'warn',
    )
  })
  tasks.addEventListener('notice:dropped', ({ detail: m }) => {
    log.emit(
      'notice_dropped',
      { task: m.taskId, peer: m.peer, kind: m.kind },
      `gave up sending ${m.kind.toLowerCase()} for task ${short(m.taskId)} to ${label(m.peer)}: it stayed unreachable`,
      'warn',
    )
  })
  tasks.addEventListener('delivery:failed', ({ detail: m }) => {
    if (m.attempt !== 1 && m.attempt % 10 !== 0) return
    log.emit(
      'delivery_failed',
      {
        task: m.taskId,
        peer: m.peer,
        kind: m.kind,
        attempt: m.attempt,
        retryInMs: m.retryInMs,
        error: m.error,
      },
      `could not deliver ${m.kind.toLowerCase()} for task ${short(m.taskId)} to ${label(m.peer)} (attempt ${m.attempt}): ${m.error}; retrying in ${Math.round(m.retryInMs / 1000)} s and when it connects`,
    )
  })
}
