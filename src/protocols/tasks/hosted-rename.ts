// A hosted agent (v1) that comes back under a new id: a v1 client makes a new random id at every
// register, and the adapter treats the same name on the same machine as the same agent. Its tasks
// follow it, so its answers are accepted and the answers to its own tasks reach its queue.
import type { DatabaseSync } from 'node:sqlite'
import { prepared } from '../../store/statements.js'

/**
 * Moves every task for or from hosted agent `from` to `to` in the tasks store on `db`; call inside
 * the transaction that renames the agent.
 */
export function renameHostedAgent(db: DatabaseSync, from: string, to: string): void {
  // rare (a re-registration), so a scan of the tasks table is fine
  prepared(db, 'UPDATE tasks SET to_hosted_agent = ? WHERE to_hosted_agent = ?').run(to, from)
  prepared(db, 'UPDATE tasks SET from_hosted_agent = ? WHERE from_hosted_agent = ?').run(to, from)
}
