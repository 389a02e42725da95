import { cancelTask } from '../../client/requests.js'
import { type Command, flag, str } from '../command.js'
import { connect } from '../connect.js'
import { UsageError } from '../errors.js'
import { printJson } from '../format.js'
import { printTask } from '../task-format.js'

export const cancel: Command = {
  name: 'cancel',
  summary: 'withdraw a task this agent delegated',
  usage: 'cancel --msg-id ID [--reason TEXT] [--json]',
  details: 'The task becomes canceled here at once; the assignee is told durably. --json prints the task.',
  options: {
    'msg-id': { type: 'string', value: 'ID', description: 'the task id' },
    reason: { type: 'string', value: 'TEXT', description: 'why, for the assignee' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    const id = str(ctx, 'msg-id')
    if (id == null) throw new UsageError('--msg-id is required', 'cancel')
    const task = await cancelTask(connect(ctx), { id, reason: str(ctx, 'reason') })
    if (flag(ctx, 'json')) printJson(task)
    else printTask(task, false)
    return 0
  },
}
