import { replyTask } from '../../client/requests.js'
import { type Command, flag, str } from '../command.js'
import { connect } from '../connect.js'
import { UsageError } from '../errors.js'
import { printJson } from '../format.js'
import { readStdin } from '../stdin.js'
import { printTask } from '../task-format.js'

export const reply: Command = {
  name: 'reply',
  summary: 'answer the question of an agent working on a task this agent delegated',
  usage: 'reply TASK_ID TEXT [--to AGENT] [--json]',
  details:
    'When a task you delegated is input-required (poll shows a task_update with the question in result),\n' +
    'reply sends your answer to the agent working on it, durably (retried until acknowledged, in order,\n' +
    'exactly once); the task becomes working again. A reply may also be sent on any other open task.\n' +
    'TEXT - reads stdin. --to (the assignee) picks the task when the id is not unique. The assignee\n' +
    'gets it in poll as a task_reply event. --json prints the task (see delegate).',
  args: 2,
  options: {
    to: { type: 'string', value: 'AGENT', description: 'the assignee, when the id is not unique' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    const [id, given] = ctx.positionals
    if (id == null || given == null) throw new UsageError('give the task id and the reply text', 'reply')
    const message = given === '-' ? await readStdin() : given
    if (message.trim() === '') throw new UsageError('the reply text is empty', 'reply')
    const task = await replyTask(connect(ctx), { id, message, to: str(ctx, 'to') })
    if (flag(ctx, 'json')) printJson(task)
    else printTask(task, false)
    return 0
  },
}
