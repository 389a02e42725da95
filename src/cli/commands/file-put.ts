import { resolve } from 'node:path'
import { putContent, putFile } from '../../client/requests.js'
import { type Command, flag, num, str } from '../command.js'
import { connect } from '../connect.js'
import { UsageError } from '../errors.js'
import { printJson } from '../format.js'

export const filePut: Command = {
  name: 'file-put',
  summary: 'write a file into the shared file map',
  usage: 'file-put --key K --file PATH [--base VERSION] [--type MEDIA] [--force] [--json]',
  details:
    'K is path-like (reports/q3.md): at most 512 bytes, no leading /, no .. segment. --file - reads stdin.\n' +
    'With --base, the write is refused (exit 1) unless the current version is VERSION (compare-and-swap):\n' +
    'get the latest, merge, and write again. Prints the new version. --json prints {key, version, author,\n' +
    'time, size, sha256, mediaType, deleted, conflict, versions}. Every member can read what is put: the\n' +
    "node's identity key, its mesh key file and anything under its data dir or CLAWLINK_HOME (symlinks and\n" +
    'hard links followed) are refused (exit 1) unless --force.',
  options: {
    key: { type: 'string', value: 'K', description: 'the key' },
    file: { type: 'string', value: 'PATH', description: 'the content (- reads stdin)' },
    base: { type: 'number', value: 'VERSION', min: 0, description: 'only if the current version is this' },
    type: {
      type: 'string',
      value: 'MEDIA',
      description: 'media type (default: from the key, else application/octet-stream)',
    },
    force: { type: 'boolean', description: "share it even if it is one of the node's keys or private files" },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    const key = str(ctx, 'key')
    const file = str(ctx, 'file')
    if (key == null) throw new UsageError('--key is required', 'file-put')
    if (file == null) throw new UsageError('--file is required', 'file-put')
    const api = connect(ctx)
    const req = { key, base: num(ctx, 'base'), type: str(ctx, 'type') }
    const force = flag(ctx, 'force') ? { force: true } : {}
    const f =
      file === '-'
        ? await putContent(api, req, process.stdin)
        : await putFile(api, { ...req, ...force, path: resolve(file) })
    if (flag(ctx, 'json')) printJson(f)
    else process.stdout.write(`${f.key} version ${f.version} (${f.size} bytes)\n`)
    return 0
  },
}
