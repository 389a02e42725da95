import { listFiles } from '../../client/requests.js'
import { type Command, flag, str } from '../command.js'
import { connect } from '../connect.js'
import { ago, printJson, table } from '../format.js'

export const fileList: Command = {
  name: 'file-list',
  summary: 'keys in the shared file map',
  usage: 'file-list [--prefix P] [--all] [--json]',
  details:
    'Key, version, size, author, time and a CONFLICT flag when a concurrent write is kept in history.\n' +
    '--all includes deleted keys. --json prints an array of {key, version, author, time, size, sha256,\n' +
    'mediaType, deleted, conflict, versions}.',
  options: {
    prefix: { type: 'string', value: 'P', description: 'only keys starting with P' },
    all: { type: 'boolean', description: 'include deleted keys' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    const list = await listFiles(connect(ctx), { prefix: str(ctx, 'prefix'), all: flag(ctx, 'all') })
    if (flag(ctx, 'json')) {
      printJson(list)
      return 0
    }
    if (list.length === 0) {
      process.stdout.write('no files\n')
      return 0
    }
    const rows = list.map((f) => [
      f.key,
      String(f.version),
      f.deleted ? 'deleted' : String(f.size),
      f.author.name,
      ago(f.time),
      f.conflict ? 'CONFLICT' : '',
    ])
    process.stdout.write(`${table(['KEY', 'VERSION', 'SIZE', 'AUTHOR', 'TIME', ''], rows)}\n`)
    return 0
  },
}
