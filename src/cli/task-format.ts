// Human output for tasks and events.
import type { EventJson, TaskJson } from '../api/types.js'
import { ago, shortId, table } from './format.js'

function indent(text: string, prefix = '    '): string {
  return text.replace(/^/gm, prefix)
}

export function printTask(t: TaskJson, withResult: boolean): void {
  const other = t.direction === 'sent' ? t.to : t.from
  const arrow = t.direction === 'sent' ? 'to' : 'from'
  const lines = [`task ${t.id} ${arrow} ${other.name} (${shortId(other.id)}): ${t.state}`]
  if (t.reason != null) lines.push(`  reason: ${t.reason}`)
  if (withResult && t.result != null) lines.push('  result:', indent(t.result))
  process.stdout.write(`${lines.join('\n')}\n`)
}

export function printEvents(events: EventJson[]): void {
  if (events.length === 0) {
    process.stdout.write('no new events\n')
    return
  }
  const out: string[] = []
  for (const e of events) {
    if (e.type === 'file_updated') {
      const what = e.deleted === true ? 'deleted' : `${e.size} bytes`
      out.push(
        `[file_updated] ${e.key} version ${e.version} by ${e.from.name} (${what})${e.conflict === true ? ' CONFLICT' : ''}`,
      )
    } else if (e.type === 'broadcast') {
      const tags = e.tags != null && e.tags.length > 0 ? ` [${e.tags.join(',')}]` : ''
      out.push(`[broadcast] ${e.topic}${tags} from ${e.from.name} (${shortId(e.from.id)}), ${e.timestamp}`)
      out.push(indent(e.content ?? ''))
    } else if (e.type === 'task') {
      out.push(`[task] ${e.id} from ${e.from.name} (${shortId(e.from.id)}), priority ${e.priority}`)
      out.push(indent(e.task ?? ''))
      if (e.context != null) out.push(`  context: ${JSON.stringify(e.context)}`)
      out.push(
        `  answer with: clawlink respond --msg-id ${e.id} --result "..." [--status working|input-required|completed|failed|rejected]`,
      )
    } else if (e.type === 'task_reply') {
      out.push(`[task_reply] ${e.id} from ${e.from.name} (${shortId(e.from.id)}), now ${e.state}`)
      out.push(indent(e.message ?? ''))
    } else {
      out.push(`[task_update] ${e.id} ${e.state}, from ${e.from.name} (${shortId(e.from.id)})`)
      if (e.reason != null) out.push(`  reason: ${e.reason}`)
      if (e.result != null)
        out.push(`  ${e.state === 'input-required' ? 'question' : 'result'}:`, indent(e.result))
      if (e.state === 'input-required') out.push(`  answer with: clawlink reply ${e.id} "..."`)
    }
  }
  process.stdout.write(`${out.join('\n')}\n`)
}

export function printTaskTable(tasks: TaskJson[]): void {
  if (tasks.length === 0) {
    process.stdout.write('no tasks\n')
    return
  }
  const rows = tasks.map((t) => {
    const other = t.direction === 'sent' ? `-> ${t.to.name}` : `<- ${t.from.name}`
    const text = t.task.replace(/\s+/g, ' ')
    return [
      t.id,
      other,
      t.state,
      t.priority,
      ago(t.createdAt),
      text.length > 40 ? `${text.slice(0, 37)}...` : text,
    ]
  })
  process.stdout.write(`${table(['ID', 'PEER', 'STATE', 'PRIORITY', 'CREATED', 'TASK'], rows)}\n`)
}
