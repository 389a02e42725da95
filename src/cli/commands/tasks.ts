import { listTasks } from '../../client/requests.js'
import { type Command, flag, str } from '../command.js'
import { connect } from '../connect.js'
import { printJson } from '../format.js'
import { printTaskTable } from '../task-format.js'

export const tasks: Command = {
  name: 'tasks',
  summary: 'tasks sent and received, with their states',
  usage: 'tasks [--open] [--id ID] [--json]',
  details: 'Newest first. --open: only tasks not yet final. --json prints an array of tasks (see delegate).',
  options: {
    open: { type: 'boolean', description: 'only submitted, delivered and working tasks' },
    id: { type: 'string', value: 'ID', description: 'only the task with this id' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    const list = await listTasks(connect(ctx), { open: flag(ctx, 'open'), id: str(ctx, 'id') })
    if (flag(ctx, 'json')) printJson(list)
    else printTaskTable(list)
    return 0
  },
}
