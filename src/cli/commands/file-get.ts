import { createReadStream } from 'node:fs'
import { resolve } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { ClientError } from '../../client/errors.js'
import { copyOut, fileHistory, getFile } from '../../client/requests.js'
import { type Command, flag, num, str } from '../command.js'
import { connect } from '../connect.js'
import { CliError, UsageError } from '../errors.js'
import { printJson } from '../format.js'
import { withProgress } from '../progress.js'

export const fileGet: Command = {
  name: 'file-get',
  summary: 'read a file from the shared file map',
  usage: 'file-get --key K [--output PATH] [--mode OCTAL] [--version V] [--json]',
  details:
    'Writes the content to PATH (atomically) or to stdout. A new PATH gets mode 0600 (only you can read it);\n' +
    'a replaced one keeps its mode; --mode (e.g. 644) sets it either way. Content not yet on this node is fetched from a\n' +
    'peer that has it and verified by its hash first. --version reads an older version kept in history.\n' +
    '--json (with --output) prints the version: {key, version, base, author, time, size, sha256,\n' +
    'mediaType, deleted, winner, conflict, local}.',
  options: {
    key: { type: 'string', value: 'K', description: 'the key' },
    output: { type: 'string', short: 'o', value: 'PATH', description: 'write here instead of stdout' },
    mode: { type: 'string', value: 'OCTAL', description: 'permissions of the --output file (default 600)' },
    version: { type: 'number', value: 'V', min: 1, description: 'an older version' },
    json: { type: 'boolean', description: 'print the version as JSON (needs --output)' },
  },
  async run(ctx) {
    const key = str(ctx, 'key')
    if (key == null) throw new UsageError('--key is required', 'file-get')
    const output = str(ctx, 'output')
    if (flag(ctx, 'json') && output == null)
      throw new UsageError('--json needs --output (stdout carries the content)', 'file-get')
    const modeText = str(ctx, 'mode')
    if (modeText != null && output == null) throw new UsageError('--mode needs --output', 'file-get')
    if (modeText != null && !/^0?[0-7]{3}$/.test(modeText))
      throw new UsageError(`--mode must be octal permissions like 600 or 644, not ${modeText}`, 'file-get')
    const mode = modeText != null ? Number.parseInt(modeText, 8) : undefined
    const api = connect(ctx)
    const version = num(ctx, 'version')
    // ask first what it is (size, hash), so a long fetch can show progress
    const history = await fileHistory(api, key).catch(() => [])
    const target =
      version == null ? history.find((v) => v.winner) : history.find((v) => v.version === version)
    const got = await withProgress(
      api,
      target?.local === false ? target.sha256 : undefined,
      target?.size ?? 0,
      getFile(api, { key, version }),
    )
    try {
      if (output == null) {
        await pipeline(createReadStream(got.path), process.stdout, { end: false })
      } else {
        const dest = resolve(output)
        await copyOut(got.path, dest, mode)
        if (flag(ctx, 'json')) printJson(got.file)
        else process.stderr.write(`${key} version ${got.file.version} (${got.file.size} bytes) -> ${dest}\n`)
      }
    } catch (err) {
      if (err instanceof ClientError) throw err
      throw new CliError(`could not write ${output ?? 'stdout'}: ${(err as Error).message}`)
    }
    return 0
  },
}
