import { TASK_ID_PATTERN, TASK_ID_RULE } from '../../api/task-id.js'
import type { DelegateRequest, Priority } from '../../api/types.js'
import { delegateTask, PRIORITIES } from '../../client/requests.js'
import { parseDuration } from '../args.js'
import { type Command, flag, str } from '../command.js'
import { connect } from '../connect.js'
import { UsageError } from '../errors.js'
import { printJson } from '../format.js'
import { readStdin } from '../stdin.js'
import { printTask } from '../task-format.js'

/** `--wait` alone: until the task is final (bounded by the API's longest wait). */
const WAIT_FOREVER = 24 * 3600

export const delegate: Command = {
  name: 'delegate',
  summary: 'hand a task to another agent',
  usage:
    'delegate (--to AGENT | --cap CAP) --task TEXT [--context JSON] [--priority low|normal|high|urgent]\n' +
    '                  [--ttl DURATION] [--wait [SECONDS]] [--id ID] [--json]',
  details:
    'AGENT is a name, a PeerId or a unique PeerId prefix; --cap picks the least loaded online agent with\n' +
    "that capability. The task is stored in this node's outbox and the command returns its id at once;\n" +
    'the node delivers it, retrying until the agent acknowledges or the TTL (default 24h) runs out.\n' +
    '--task - reads the task text from stdin. With --wait the command blocks until the task is final\n' +
    '(completed, failed, canceled, rejected, expired) or SECONDS pass, and prints the result.\n' +
    '--id sets the task id (8-64 of A-Z a-z 0-9 - _): run the same command again after a crash or a cut\n' +
    'connection and it returns that task instead of sending a second one.\n' +
    '--json prints the task: {id, direction, from, to, task, context, priority, state, result, reason,\n' +
    'createdAt, updatedAt, expiresAt}.',
  options: {
    to: { type: 'string', value: 'AGENT', description: 'the agent: name, PeerId or PeerId prefix' },
    cap: {
      type: 'string',
      value: 'CAP',
      description: 'any online agent with this capability (least loaded)',
    },
    task: { type: 'string', value: 'TEXT', description: 'what to do (- reads stdin)' },
    context: { type: 'string', value: 'JSON', description: 'extra data for the task, as JSON' },
    priority: { type: 'string', value: 'LEVEL', description: 'low, normal (default), high or urgent' },
    ttl: {
      type: 'string',
      value: 'DURATION',
      description: 'give up delivering after (default 24h, at most 30d)',
    },
    wait: {
      type: 'string',
      value: 'SECONDS',
      implicit: String(WAIT_FOREVER),
      description: 'wait for the result',
    },
    id: { type: 'string', value: 'ID', description: 'the task id (repeating it cannot send the task twice)' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    const to = str(ctx, 'to')
    const cap = str(ctx, 'cap')
    if ((to == null) === (cap == null)) throw new UsageError('give exactly one of --to and --cap', 'delegate')
    let task = str(ctx, 'task')
    if (task == null) throw new UsageError('--task is required', 'delegate')
    if (task === '-') task = await readStdin()
    if (task.trim() === '') throw new UsageError('--task is empty', 'delegate')
    const context = str(ctx, 'context')
    if (context != null) {
      try {
        JSON.parse(context)
      } catch (err) {
        throw new UsageError(`--context is not valid JSON: ${(err as Error).message}`, 'delegate')
      }
    }
    const priority = str(ctx, 'priority')
    if (priority != null && !PRIORITIES.includes(priority as Priority)) {
      throw new UsageError(`--priority must be one of ${PRIORITIES.join(', ')}`, 'delegate')
    }
    const ttlRaw = str(ctx, 'ttl')
    const ttl = ttlRaw != null ? parseDuration(ttlRaw, '--ttl') : undefined
    const waitRaw = str(ctx, 'wait')
    const wait = waitRaw != null ? Number(waitRaw) : undefined
    if (wait != null && (!Number.isFinite(wait) || wait < 0 || wait > WAIT_FOREVER)) {
      throw new UsageError(`--wait takes a number of seconds from 0 to ${WAIT_FOREVER}`, 'delegate')
    }
    const id = str(ctx, 'id')
    if (id != null && !TASK_ID_PATTERN.test(id))
      throw new UsageError(`--id must be ${TASK_ID_RULE}`, 'delegate')
    const body: DelegateRequest = {
      id,
      to,
      cap,
      task,
      context,
      priority: priority as Priority | undefined,
      ttl,
      wait: wait != null ? Math.round(wait * 1000) : undefined,
    }
    const result = await delegateTask(connect(ctx), body)
    if (flag(ctx, 'json')) printJson(result)
    else printTask(result, wait != null)
    return 0
  },
}
