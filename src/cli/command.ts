import type { OptionSpecs, Parsed } from './args.js'

export interface CommandContext {
  options: Parsed['options']
  positionals: string[]
  env: NodeJS.ProcessEnv
  /** the command name as typed (errors name it) */
  command?: string
  /** set by `clawlink relay`: a node that only relays */
  relayOnly?: boolean
}

export interface Command {
  name: string
  summary: string
  /** The synopsis line after `clawlink`. */
  usage: string
  /** Extra help text: what the command does, its --json shape. */
  details?: string
  options: OptionSpecs
  /** Words one of which must follow the command name (`service install`); in ctx.positionals[0]. */
  subcommands?: string[]
  /** How many words may follow (after the subcommand, if any): `reply ID TEXT`; checked by run(). */
  args?: number
  /** Resolves to the exit code. */
  run(ctx: CommandContext): Promise<number>
}

/** Options every command accepts, before or after its name. */
export const GLOBAL_OPTIONS: OptionSpecs = {
  'data-dir': { type: 'string', value: 'DIR', description: 'the node to use (or to run), by its data dir' },
  as: { type: 'string', value: 'NAME', description: 'the node to use, by agent name (or CLAWLINK_AGENT)' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
}

export function str(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.options[name]
  return typeof v === 'string' ? v : undefined
}

export function num(ctx: CommandContext, name: string): number | undefined {
  const v = ctx.options[name]
  return typeof v === 'number' ? v : undefined
}

export function flag(ctx: CommandContext, name: string): boolean {
  return ctx.options[name] === true
}

export function list(ctx: CommandContext, name: string): string[] {
  const v = ctx.options[name]
  if (v == null) return []
  return (Array.isArray(v) ? v : [v]).map(String)
}
