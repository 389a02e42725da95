import type { FileJson } from '../../api/types.js'
import { type Command, flag, num, str } from '../command.js'
import { connect } from '../connect.js'
import { UsageError } from '../errors.js'
import { printJson } from '../format.js'

export const fileRm: Command = {
  name: 'file-rm',
  summary: 'delete a key from the shared file map',
  usage: 'file-rm --key K [--base VERSION] [--json]',
  details: 'A deletion is a new version (a tombstone), so it replicates; history keeps the old versions.',
  options: {
    key: { type: 'string', value: 'K', description: 'the key' },
    base: { type: 'number', value: 'VERSION', min: 0, description: 'only if the current version is this' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    const key = str(ctx, 'key')
    if (key == null) throw new UsageError('--key is required', 'file-rm')
    const f = await connect(ctx).post<FileJson>('/v1/files/rm', { key, base: num(ctx, 'base') })
    if (flag(ctx, 'json')) printJson(f)
    else process.stdout.write(`${f.key} deleted (version ${f.version})\n`)
    return 0
  },
}
