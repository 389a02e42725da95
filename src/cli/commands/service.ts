// `clawlink service install`: writes a systemd user unit (Linux) or a launchd agent (macOS) that runs
// this agent's node at login, and says how to enable it. It never runs systemctl or launchctl itself.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { nodeLogPath } from '../../home/node-log.js'
import { clawlinkHome, dataDirPaths, defaultDataDir } from '../../home/paths.js'
import { ensurePrivateDir } from '../../home/private-dir.js'
import { type Command, flag, str } from '../command.js'
import { NODE_OPTIONS, nodeArgv } from '../detach/node-argv.js'
import {
  launchdLabel,
  launchdPlist,
  type ServiceSpec,
  systemdUnit,
  systemdUnitName,
} from '../detach/service-files.js'
import { BIN } from '../detach/spawn-node.js'
import { CliError, UsageError } from '../errors.js'
import { printJson } from '../format.js'
import { checkCardOptions } from '../node-args.js'

const OWN = ['json', 'kind', 'output', 'force']
/** Secrets the unit file would show to anyone who reads it: refused, their -file forms are fine. */
const INLINE_SECRETS = ['token', 'wake-token', 'v1-token', 'a2a-token']

export const service: Command = {
  name: 'service',
  summary: 'write a systemd user unit or launchd agent that runs the node at login',
  usage:
    'service install --name NAME [node options] [--kind systemd|launchd] [--output FILE] [--force] [--json]',
  subcommands: ['install'],
  details:
    'Writes the file (systemd: ~/.config/systemd/user/clawlink-NAME.service; launchd:\n' +
    '~/Library/LaunchAgents/ai.clawlink.NAME.plist) running `clawlink node` with the node options given,\n' +
    'its output appended to <data dir>/node.log (see clawlink logs), and prints how to enable it. Secrets\n' +
    'are not written into it: use --token-file, --wake-token-file, --v1-token-file, --a2a-token-file\n' +
    'or --key-file.\n' +
    '--json prints {kind, path, name, logFile, enable: [commands]}.',
  options: {
    ...NODE_OPTIONS,
    kind: {
      type: 'string',
      value: 'KIND',
      description: 'systemd or launchd (default: launchd on macOS, else systemd)',
    },
    output: { type: 'string', value: 'FILE', description: 'write here instead of the default place' },
    force: { type: 'boolean', description: 'replace an existing file' },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
  async run(ctx) {
    const name = str(ctx, 'name') ?? str(ctx, 'as') ?? ctx.env.CLAWLINK_AGENT
    if (name == null || name === '') throw new UsageError('--name is required', 'service')
    checkCardOptions({ name }, 'service')
    for (const secret of INLINE_SECRETS) {
      if (str(ctx, secret) != null) {
        throw new UsageError(
          `--${secret} would be written into the service file: use --${secret}-file instead`,
          'service',
        )
      }
    }
    const kind = str(ctx, 'kind') ?? (process.platform === 'darwin' ? 'launchd' : 'systemd')
    if (kind !== 'systemd' && kind !== 'launchd') {
      throw new UsageError(`--kind must be systemd or launchd, not ${JSON.stringify(kind)}`, 'service')
    }
    const home = clawlinkHome(ctx.env)
    const dataDir = dataDirPaths(str(ctx, 'data-dir') ?? defaultDataDir(home, name), ctx.env).root
    const logFile = nodeLogPath(dataDir)
    const args = nodeArgv(ctx, OWN)
    if (str(ctx, 'name') == null) args.unshift(`--name=${name}`)
    const env: Record<string, string> = { CLAWLINK_HOME: home, CLAWLINK_LOG_FILE: logFile }
    if (ctx.env.PATH != null) env.PATH = ctx.env.PATH
    if (ctx.env.CLAWLINK_MDNS_TAG != null) env.CLAWLINK_MDNS_TAG = ctx.env.CLAWLINK_MDNS_TAG
    const spec: ServiceSpec = {
      name,
      argv: [process.execPath, BIN, 'node', ...args],
      workingDirectory: process.cwd(),
      logFile,
      env,
    }
    const user = ctx.env.HOME ?? homedir()
    const path =
      str(ctx, 'output') ??
      (kind === 'systemd'
        ? join(ctx.env.XDG_CONFIG_HOME ?? join(user, '.config'), 'systemd', 'user', systemdUnitName(name))
        : join(user, 'Library', 'LaunchAgents', `${launchdLabel(name)}.plist`))
    if (existsSync(path) && !flag(ctx, 'force')) {
      throw new CliError(`${path} already exists; give --force to replace it`)
    }
    mkdirSync(join(path, '..'), { recursive: true })
    // the log's folder must exist before the service manager opens the log
    ensurePrivateDir(dataDir)
    writeFileSync(path, kind === 'systemd' ? systemdUnit(spec) : launchdPlist(spec), { mode: 0o644 })
    const enable =
      kind === 'systemd'
        ? ['systemctl --user daemon-reload', `systemctl --user enable --now ${systemdUnitName(name)}`]
        : [`launchctl bootstrap gui/$(id -u) ${path}`]
    if (flag(ctx, 'json')) {
      printJson({ kind, path, name, logFile, enable })
      return 0
    }
    const lines = [`wrote ${path}`, 'start it now and at every login with:', ...enable.map((c) => `  ${c}`)]
    if (kind === 'systemd')
      lines.push('(to keep it running while you are logged out: loginctl enable-linger)')
    lines.push(`its log: clawlink logs --as ${name}`)
    process.stdout.write(`${lines.join('\n')}\n`)
    return 0
  },
}
