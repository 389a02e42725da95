// The sentence a woken agent reads: what arrived, and the command that shows it. It lands in the agent's
// prompt, so by default (`notice`) it holds only what the node controls: event kind, task id, state, a
// sender name that passed the name rule. Another member's words (task text, broadcast content, reasons,
// file keys) are untrusted and stay out unless the user opts in with `--wake-text full`.
import type { WatchEventJson } from '../../api/types.js'
import { validateName } from '../../rules/card.js'

/** How the woken agent addresses its node: by name, which `--as` resolves. */
export interface AgentRef {
  name: string
}

export const WAKE_TEXT_MODES = ['notice', 'full'] as const
export type WakeTextMode = (typeof WAKE_TEXT_MODES)[number]

const EXCERPT = 160

function excerpt(text: string | undefined): string {
  const flat = (text ?? '').replace(/\s+/g, ' ').trim()
  // cut between code points: half a surrogate pair would not survive the JSON the wake-up is sent in
  const chars = Array.from(flat)
  return chars.length > EXCERPT ? `${chars.slice(0, EXCERPT - 3).join('')}...` : flat
}

/** A peer's name as the notice may show it: one that breaks the name rule is not repeated. */
function nameOf(name: string): string {
  try {
    validateName(name)
    return name
  } catch {
    return 'an agent with an invalid name'
  }
}

function notice(e: WatchEventJson): string {
  switch (e.type) {
    case 'task':
      return `new task ${e.id} from ${nameOf(e.from.name)} (${e.priority})`
    case 'task_update':
      return `task ${e.id} (${nameOf(e.from.name)}) is now ${e.state}`
    case 'task_reply':
      return `${nameOf(e.from.name)} replied on task ${e.id}`
    case 'task_sent':
      return `task ${e.id} delegated to ${nameOf(e.to.name)}`
    case 'broadcast':
      return `new broadcast from ${nameOf(e.from.name)}`
    case 'file_updated':
      return `a shared file is now version ${e.version} by ${nameOf(e.from.name)}${e.conflict === true ? ' (CONFLICT)' : ''}`
    default:
      return `peer ${nameOf(e.peer.name)} is ${e.type.slice('peer_'.length)}`
  }
}

function full(e: WatchEventJson): string {
  switch (e.type) {
    case 'task':
      return `new task ${e.id} from ${e.from.name} (${e.priority}): "${excerpt(e.task)}"`
    case 'task_update':
      return `task ${e.id} (${e.from.name}) is now ${e.state}${e.reason != null ? `: ${excerpt(e.reason)}` : ''}`
    case 'task_reply':
      return `${e.from.name} replied on task ${e.id}: "${excerpt(e.message)}"`
    case 'task_sent':
      return `task ${e.id} delegated to ${e.to.name}: "${excerpt(e.task)}"`
    case 'broadcast':
      return `broadcast on ${e.topic} from ${e.from.name}: "${excerpt(e.content)}"`
    case 'file_updated':
      return `shared file ${e.key} is now version ${e.version} by ${e.from.name}${e.conflict === true ? ' (CONFLICT)' : ''}`
    default:
      return `peer ${e.peer.name} is ${e.type.slice('peer_'.length)}`
  }
}

/** One line for one event, a summary for several (a burst is one wake-up, not many). */
export function wakeText(events: WatchEventJson[], agent: AgentRef, mode: WakeTextMode = 'notice'): string {
  const describe = mode === 'full' ? full : notice
  const read = `Read with: clawlink poll --as ${agent.name} --json`
  if (events.length === 1) return `ClawLink (${agent.name}): ${describe(events[0]!)}. ${read}`
  const counts = new Map<string, number>()
  for (const e of events) counts.set(e.type, (counts.get(e.type) ?? 0) + 1)
  const summary = [...counts].map(([type, n]) => `${n} ${type}`).join(', ')
  const newest = describe(events[events.length - 1]!)
  return `ClawLink (${agent.name}): ${events.length} new events (${summary}); latest: ${newest}. ${read}`
}
