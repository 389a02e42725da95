import { type Command, flag } from '../command.js'
import { connect } from '../connect.js'
import { printJson } from '../format.js'

export const heartbeat: Command = {
  name: 'heartbeat',
  summary: 'announce presence now (the node also does it by itself)',
  usage: 'heartbeat [--json]',
  details: '--json prints {ok, online} where online counts the other agents online.',
  options: { json: { type: 'boolean', description: 'print JSON' } },
  async run(ctx) {
    const res = await connect(ctx).post<{ ok: boolean; online: number }>('/v1/heartbeat', {})
    if (flag(ctx, 'json')) printJson(res)
    else process.stdout.write(`announced; ${res.online} other agent(s) online\n`)
    return 0
  },
}
