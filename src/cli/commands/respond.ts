import type { RespondRequest } from '../../api/types.js'
import { RESPOND_STATUSES, respondTask } from '../../client/requests.js'
import { type Command, flag, str } from '../command.js'
import { connect } from '../connect.js'
import { UsageError } from '../errors.js'
import { printJson } from '../format.js'
import { readStdin } from '../stdin.js'
import { printTask } from '../task-format.js'

export const respond: Command = {
  name: 'respond',
  summary: 'answer a task this agent received',
  usage:
    'respond --msg-id ID --result TEXT [--status working|input-required|completed|failed|rejected] [--to AGENT] [--json]',
  details:
    'Sends the state and result back to the delegator, durably (retried until acknowledged). --status\n' +
    "defaults to completed; working (or v1's in_progress) reports progress and may be sent several times;\n" +
    'input-required asks the delegator the question in --result (its `clawlink reply` comes as task_reply).\n' +
    'A final state cannot be changed. --result - reads stdin. --to (the delegator) is checked when given.\n' +
    '--json prints the task (see delegate).',
  options: {
    'msg-id': { type: 'string', value: 'ID', description: 'the task id (from poll)' },
    result: { type: 'string', value: 'TEXT', description: 'the answer (- reads stdin)' },
    status: {
      type: 'string',
      value: 'STATE',
      description: 'working, input-required, completed (default), failed or rejected',
    },
    to: { type: 'string', value: 'AGENT', description: 'the delegator, checked against the task' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    const id = str(ctx, 'msg-id')
    if (id == null) throw new UsageError('--msg-id is required', 'respond')
    let result = str(ctx, 'result')
    if (result == null) throw new UsageError('--result is required', 'respond')
    if (result === '-') result = await readStdin()
    const status = str(ctx, 'status')
    if (status != null && !(RESPOND_STATUSES as readonly string[]).includes(status)) {
      throw new UsageError(`--status must be one of ${RESPOND_STATUSES.join(', ')}`, 'respond')
    }
    const body: RespondRequest = {
      id,
      result,
      status: status as RespondRequest['status'],
      to: str(ctx, 'to'),
    }
    const task = await respondTask(connect(ctx), body)
    if (flag(ctx, 'json')) printJson(task)
    else printTask(task, false)
    return 0
  },
}
