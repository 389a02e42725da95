// `clawlink node` options as taken by the commands that run a node for the user (`up`, `service
// install`), and turned back into the arguments of the `clawlink node` they run.
import type { CommandContext } from '../command.js'
import { node } from '../commands/node.js'

export const NODE_OPTIONS = node.options

/** The parsed `clawlink node` options (but `skip`) as arguments; `--wake-url` alone arrives with its value. */
export function nodeArgv(ctx: CommandContext, skip: string[]): string[] {
  const args: string[] = []
  for (const name of [...Object.keys(NODE_OPTIONS), 'data-dir']) {
    if (skip.includes(name)) continue
    const v = ctx.options[name]
    if (v == null || v === false) continue
    if (v === true) args.push(`--${name}`)
    else for (const one of Array.isArray(v) ? v : [v]) args.push(`--${name}=${one}`)
  }
  return args
}
