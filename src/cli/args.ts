// A small, strict command-line parser: global options may stand before or after the command name,
// unknown flags and bad values are usage errors (exit 2), and `--flag=value` and `--flag value` both work.
import { UsageError } from './errors.js'

export interface OptionSpec {
  type: 'string' | 'boolean' | 'number'
  description: string
  multiple?: boolean
  short?: string
  /** Shown in help, e.g. DIR. */
  value?: string
  /** For numbers: the smallest and largest allowed values. */
  min?: number
  max?: number
  /** For strings: a value that may be omitted (`--wait` alone means this). */
  implicit?: string
  /** With `implicit`: what a following argument must look like to be taken as the value (default: digits). */
  implicitMatch?: RegExp
}

export type OptionSpecs = Record<string, OptionSpec>

export type ParsedValue = string | boolean | number | string[] | number[]

export interface Parsed {
  command?: string
  options: Record<string, ParsedValue | undefined>
  positionals: string[]
}

function lookup(specs: OptionSpecs, token: string): [string, OptionSpec] | undefined {
  if (token.startsWith('--')) {
    const name = token.slice(2)
    // own keys only: --constructor is an unknown option, not Object.prototype.constructor
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined
    return spec != null ? [name, spec] : undefined
  }
  const short = token.slice(1)
  return Object.entries(specs).find(([, s]) => s.short === short)
}

function convert(name: string, spec: OptionSpec, raw: string, command?: string): string | number {
  if (spec.type !== 'number') return raw
  const n = Number(raw)
  if (raw.trim() === '' || !Number.isFinite(n))
    throw new UsageError(`--${name} expects a number, got ${JSON.stringify(raw)}`, command)
  if (spec.min != null && n < spec.min)
    throw new UsageError(`--${name} must be at least ${spec.min}`, command)
  if (spec.max != null && n > spec.max) throw new UsageError(`--${name} must be at most ${spec.max}`, command)
  return n
}

/**
 * Parses argv. `global` options are known before the command is; `commandSpecs(name)` gives the
 * command's own (undefined for an unknown command).
 */
export function parseArgs(
  argv: string[],
  global: OptionSpecs,
  commandSpecs: (command: string) => OptionSpecs | undefined,
): Parsed {
  const parsed: Parsed = { options: {}, positionals: [] }
  let specs: OptionSpecs = global
  let onlyPositionals = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (onlyPositionals || !arg.startsWith('-') || arg === '-') {
      if (parsed.command == null) {
        parsed.command = arg
        const own = commandSpecs(arg)
        if (own == null) throw new UsageError(`unknown command ${JSON.stringify(arg)}`)
        specs = { ...global, ...own }
      } else {
        parsed.positionals.push(arg)
      }
      continue
    }
    if (arg === '--') {
      onlyPositionals = true
      continue
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1
    const flag = eq > 0 ? arg.slice(0, eq) : arg
    const found = lookup(specs, flag)
    if (found == null) {
      const where = parsed.command != null ? ` for ${parsed.command}` : ''
      throw new UsageError(`unknown option ${flag}${where}`, parsed.command)
    }
    const [name, spec] = found
    let value: string | number | boolean
    if (spec.type === 'boolean') {
      if (eq > 0) throw new UsageError(`${flag} takes no value`, parsed.command)
      value = true
    } else if (eq > 0) {
      value = convert(name, spec, arg.slice(eq + 1), parsed.command)
    } else {
      const next = argv[i + 1]
      const looksLikeValue = next != null && (!next.startsWith('-') || next === '-' || /^-\d/.test(next))
      if (spec.implicit != null && (!looksLikeValue || !(spec.implicitMatch ?? /^\d/).test(next ?? ''))) {
        value = spec.implicit
      } else {
        if (next == null || !looksLikeValue) throw new UsageError(`${flag} needs a value`, parsed.command)
        value = convert(name, spec, next, parsed.command)
        i++
      }
    }
    if (spec.multiple === true) {
      const list = (parsed.options[name] as Array<string | number> | undefined) ?? []
      list.push(value as string | number)
      parsed.options[name] = list as string[] | number[]
    } else {
      if (parsed.options[name] != null && spec.type !== 'boolean') {
        throw new UsageError(`${flag} given twice`, parsed.command)
      }
      parsed.options[name] = value
    }
  }
  return parsed
}

/** Splits `a,b,c` lists (repeatable flags are joined), trimming blanks. */
export function splitList(value: ParsedValue | undefined): string[] | undefined {
  if (value == null) return undefined
  const parts = (Array.isArray(value) ? value : [value]).map(String)
  return parts
    .flatMap((p) => p.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `500ms`, `30s`, `2m`, `1h`, `7d`, or a bare number of seconds, to milliseconds. */
export function parseDuration(raw: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(raw.trim())
  if (m == null)
    throw new UsageError(
      `${flag} expects a duration such as 500ms, 30s, 5m, 1h or 7d; got ${JSON.stringify(raw)}`,
    )
  // Rounded before the range check, so `0.4ms` is refused as zero rather than returned as 0.
  const ms = Math.round(Number(m[1]) * UNITS[m[2] ?? 's']!)
  if (!Number.isFinite(ms) || ms <= 0 || ms > 365 * UNITS.d!) throw new UsageError(`${flag} is out of range`)
  return ms
}
