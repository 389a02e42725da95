import { POLL_LEASE, pollEvents, settleEvents } from '../../client/requests.js'
import { type Command, flag, num } from '../command.js'
import { connect } from '../connect.js'
import { printJson } from '../format.js'
import { printEvents } from '../task-format.js'

export const poll: Command = {
  name: 'poll',
  summary: 'new events for this agent: tasks, results, expiries',
  usage: 'poll [--wait SECONDS] [--peek] [--limit N] [--json]',
  details:
    'Returns events most urgent first, oldest first within a priority, and marks them seen (not with --peek).\n' +
    '--wait returns the moment an event arrives, or an empty list when SECONDS pass.\n' +
    '--json prints an array of {seq, type (task | task_update), id (the task id), from {id, name} (the other\n' +
    'agent), to {id, name} (this agent), task, context, priority, state, result, reason, timestamp}.',
  options: {
    wait: {
      type: 'number',
      value: 'SECONDS',
      min: 0,
      max: 86400,
      description: 'wait this long for an event',
    },
    peek: { type: 'boolean', description: 'do not mark the events seen' },
    limit: { type: 'number', value: 'N', min: 1, max: 1000, description: 'at most N events (default 100)' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    const api = connect(ctx)
    const peek = flag(ctx, 'peek')
    const events = await pollEvents(api, {
      wait: (num(ctx, 'wait') ?? 0) * 1000,
      peek,
      limit: num(ctx, 'limit'),
      lease: POLL_LEASE,
    })
    if (flag(ctx, 'json')) printJson(events)
    else printEvents(events)
    // seen once printed: a poll killed before (an agent's shell timeout) leaves them for the next one;
    // if the node cannot be told, its lease hands them out again
    if (!peek && events.length > 0) await settleEvents(api, events, await written()).catch(() => {})
    return 0
  },
}

/** Resolves once what was printed has gone to stdout: true, or false if it could not be written. */
function written(): Promise<boolean> {
  return new Promise((resolve) => process.stdout.write('', (err) => resolve(err == null)))
}
