// The `clawlink` command. Every command but `node` is a thin client of the node's control API.

import { ClientError } from '../client/errors.js'
import { VERSION } from '../version.js'
import { type OptionSpecs, parseArgs } from './args.js'
import { type Command, GLOBAL_OPTIONS } from './command.js'
import { COMMANDS, findCommand } from './commands/index.js'
import { UsageError } from './errors.js'
import { exitWhenStuck } from './exit.js'

function optionLines(specs: OptionSpecs): string[] {
  return Object.entries(specs).map(([name, s]) => {
    const flagText = `${s.short != null ? `-${s.short}, ` : ''}--${name}${s.value != null ? ` ${s.value}` : ''}`
    return `  ${flagText.padEnd(28)} ${s.description}`
  })
}

function mainHelp(): string {
  return [
    'clawlink: a private peer-to-peer mesh for AI agents',
    '',
    'Usage: clawlink [--as NAME | --data-dir DIR] COMMAND [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '  --version                    print the version',
    '',
    "Run `clawlink COMMAND --help` for a command's options. Docs: docs/cli.md",
  ].join('\n')
}

function commandHelp(c: Command): string {
  return [
    `Usage: clawlink ${c.usage}`,
    '',
    `${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.`,
    ...(c.details != null ? ['', c.details] : []),
    '',
    'Options:',
    ...optionLines(c.options),
    ...optionLines(GLOBAL_OPTIONS),
  ].join('\n')
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    process.stdout.write(`${VERSION}\n`)
    return 0
  }
  if (
    argv.length === 0 ||
    (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help'))
  ) {
    process.stdout.write(`${mainHelp()}\n`)
    return argv.length === 0 ? 2 : 0
  }
  if (argv[0] === 'help' && argv.length === 2) {
    const c = findCommand(argv[1]!)
    if (c == null) throw new UsageError(`unknown command ${JSON.stringify(argv[1])}`)
    process.stdout.write(`${commandHelp(c)}\n`)
    return 0
  }
  const parsed = parseArgs(argv, GLOBAL_OPTIONS, (name) => findCommand(name)?.options)
  const command = parsed.command != null ? findCommand(parsed.command) : undefined
  if (parsed.options.help === true) {
    process.stdout.write(`${command != null ? commandHelp(command) : mainHelp()}\n`)
    return 0
  }
  if (command == null) throw new UsageError('no command given')
  const subs = command.subcommands
  if (subs != null && !subs.includes(parsed.positionals[0] ?? '')) {
    throw new UsageError(`${command.name} needs one of: ${subs.join(', ')}`, command.name)
  }
  const extra = parsed.positionals[(subs != null ? 1 : 0) + (command.args ?? 0)]
  if (extra != null) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`, command.name)
  return command.run({ options: parsed.options, positionals: parsed.positionals, env, command: command.name })
}

export async function run(argv: string[]): Promise<void> {
  let code: number
  try {
    code = await main(argv)
  } catch (err) {
    if (err instanceof UsageError) {
      const c = err.command != null ? findCommand(err.command) : undefined
      process.stderr.write(`clawlink: ${err.message}\n`)
      process.stderr.write(
        c != null
          ? `Usage: clawlink ${c.usage}\nRun 'clawlink ${c.name} --help' for details.\n`
          : "Run 'clawlink --help' for usage.\n",
      )
      code = 2
    } else if (err instanceof ClientError) {
      process.stderr.write(`clawlink: ${err.message}\n`)
      code = err.exitCode
    } else {
      process.stderr.write(`clawlink: unexpected error: ${(err as Error)?.message ?? String(err)}\n`)
      if (process.env.CLAWLINK_DEBUG != null) process.stderr.write(`${(err as Error)?.stack}\n`)
      code = 1
    }
  }
  // Exit once stdout is flushed: a stopped node may still hold libp2p timers that would keep us alive.
  process.exitCode = code
  process.stdout.write('', () => process.exit(code))
  exitWhenStuck({ code, out: process.stdout, err: process.stderr, exit: (c) => process.exit(c) })
}
