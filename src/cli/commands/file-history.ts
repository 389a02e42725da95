import { fileHistory as historyOf } from '../../client/requests.js'
import { type Command, flag, str } from '../command.js'
import { connect } from '../connect.js'
import { UsageError } from '../errors.js'
import { ago, printJson, table } from '../format.js'

export const fileHistory: Command = {
  name: 'file-history',
  summary: 'the versions of a key kept in history',
  usage: 'file-history --key K [--json]',
  details:
    'Newest first; the winner is marked, and so are losing concurrent writes (conflict). --json prints an\n' +
    'array of {key, version, base, author, time, size, sha256, mediaType, deleted, winner, conflict, local}.',
  options: {
    key: { type: 'string', value: 'K', description: 'the key' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    const key = str(ctx, 'key')
    if (key == null) throw new UsageError('--key is required', 'file-history')
    const list = await historyOf(connect(ctx), key)
    if (flag(ctx, 'json')) {
      printJson(list)
      return 0
    }
    const rows = list.map((v) => [
      String(v.version),
      v.deleted ? 'deleted' : String(v.size),
      v.author.name,
      ago(v.time),
      v.winner ? 'current' : v.conflict ? 'conflict' : '',
      v.deleted ? '' : v.sha256.slice(0, 12),
    ])
    process.stdout.write(`${table(['VERSION', 'SIZE', 'AUTHOR', 'TIME', 'STATE', 'SHA256'], rows)}\n`)
    return 0
  },
}
