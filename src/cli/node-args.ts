// Checks of `clawlink node` / `relay` / `register` option values that need no libp2p: each bad value is
// a UsageError naming its option (exit 2), found before anything starts. Also reads secrets from files.
import { readBounded } from '../home/bounded-read.js'
import { MIN_TOKEN_LENGTH } from '../home/mesh-key.js'
import { validateCaps, validateDescription, validateName } from '../rules/card.js'
import { type CommandContext, str } from './command.js'
import { CliError, UsageError } from './errors.js'

/** A secret file holds one short line; anything much larger is not one. */
const MAX_SECRET_FILE_SIZE = 4096

/** Checks an agent card's name, caps and description as given on the command line. */
export function checkCardOptions(
  card: { name?: string; caps?: string[]; description?: string },
  command: string,
): void {
  const check = (option: string, fn: () => void) => {
    try {
      fn()
    } catch (err) {
      throw new UsageError(`--${option}: ${(err as Error).message}`, command)
    }
  }
  if (card.name != null) check('name', () => validateName(card.name!))
  if (card.caps != null) check('caps', () => validateCaps(card.caps!))
  if (card.description != null) check('description', () => validateDescription(card.description!))
}

/** Only TCP and relayed addresses can be listened on or dialled: anything else fails later, less clearly. */
export function checkTransport(addr: string, option: string, command: string): void {
  if (!/\/tcp\/\d+/.test(addr) && !addr.includes('/p2p-circuit')) {
    throw new UsageError(
      `--${option} ${addr}: ClawLink speaks TCP only: give an address with /tcp/PORT (or a /p2p-circuit one)`,
      command,
    )
  }
}

/** One line of a secret file (trailing newline dropped); its size is bounded and checked. */
export function readSecretFile(path: string, option: string): string {
  const what = `--${option} ${path}`
  const text = readBounded(path, MAX_SECRET_FILE_SIZE, what, (m) => new CliError(m)).toString('utf8')
  const secret = text.replace(/\r?\n$/, '')
  if (secret === '' || /[\r\n]/.test(secret)) {
    throw new CliError(`${what} must hold the secret on one line`)
  }
  return secret
}

/** A secret given on the command line, and what to say about it. */
export interface SecretWarning {
  option: string
  text: string
}

/**
 * A secret from `--NAME`, `--NAME-file` or neither (then the caller falls back to the environment).
 * A secret given in the arguments is seen by every local user in `ps`: `warnings` gets an entry.
 */
export function secretOption(
  ctx: CommandContext,
  name: string,
  env: string,
  warnings: SecretWarning[],
): string | undefined {
  const inline = str(ctx, name)
  const file = str(ctx, `${name}-file`)
  if (inline != null && file != null) {
    throw new UsageError(`give --${name} or --${name}-file, not both`, ctx.command)
  }
  if (file != null) return readSecretFile(file, `${name}-file`)
  if (inline != null) {
    warnings.push({
      option: `--${name}`,
      text: `--${name} on the command line is visible to every local user (ps, /proc); use ${env} or --${name}-file instead`,
    })
  }
  return inline
}

/** The mesh key options that exclude each other, and a token too short to be one. */
export function checkMeshKeyOptions(ctx: CommandContext, token: string | undefined): void {
  const open = ctx.options.open === true
  const keyFile = str(ctx, 'key-file') != null
  const tokenGiven = token != null
  if (open && (keyFile || tokenGiven)) {
    throw new UsageError('--open cannot be combined with --key-file or --token', ctx.command)
  }
  if (keyFile && tokenGiven) throw new UsageError('give either --key-file or --token, not both', ctx.command)
  if (token != null && token.length < MIN_TOKEN_LENGTH) {
    throw new UsageError(
      `--token: the mesh token must be at least ${MIN_TOKEN_LENGTH} characters`,
      ctx.command,
    )
  }
  if (token != null && token.length > 1024) {
    throw new UsageError('--token: the mesh token must be at most 1024 characters', ctx.command)
  }
}
