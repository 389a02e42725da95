import { encodeKeyFile, fingerprint, generateKey, writeKeyFile } from '../../home/mesh-key.js'
import { type Command, flag, str } from '../command.js'
import { CliError } from '../errors.js'
import { printJson } from '../format.js'

export const keygen: Command = {
  name: 'keygen',
  summary: 'create a new mesh key',
  usage: 'keygen [--output FILE] [--force] [--json]',
  details:
    'Writes a new pre-shared mesh key (libp2p pnet format) to FILE with mode 0600, or to stdout.\n' +
    'Give the same key to every node of the mesh with --key-file FILE or CLAWLINK_KEY.\n' +
    '--json prints {path, fingerprint}; without --output, {path: null, fingerprint, key} with the key file text.',
  options: {
    output: { type: 'string', short: 'o', value: 'FILE', description: 'where to write the key' },
    force: { type: 'boolean', description: 'overwrite FILE if it exists' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    const key = generateKey()
    const output = str(ctx, 'output')
    const fp = fingerprint(key)
    if (output == null) {
      if (flag(ctx, 'json')) printJson({ path: null, fingerprint: fp, key: encodeKeyFile(key) })
      else {
        process.stdout.write(encodeKeyFile(key))
        process.stderr.write(`mesh fingerprint ${fp}\n`)
      }
      return 0
    }
    try {
      writeKeyFile(output, key, flag(ctx, 'force'))
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EEXIST')
        throw new CliError(
          `${output} exists; use --force to replace it (nodes using it must then change too)`,
        )
      throw new CliError(`cannot write ${output}: ${(err as Error).message}`)
    }
    if (flag(ctx, 'json')) printJson({ path: output, fingerprint: fp })
    else
      process.stdout.write(
        `wrote mesh key ${output} (fingerprint ${fp}); start nodes with --key-file ${output}\n`,
      )
    return 0
  },
}
