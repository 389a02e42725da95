// `clawlink up`: one command that leaves this agent's node running in the background, or says it already
// runs. Takes every `clawlink node` option and hands them on to a detached `clawlink node`.
import type { StatusJson } from '../../api/types.js'
import { nodeLogPath } from '../../home/node-log.js'
import { clawlinkHome, dataDirPaths, defaultDataDir } from '../../home/paths.js'
import { ensurePrivateDir } from '../../home/private-dir.js'
import { parseDuration } from '../args.js'
import { type Command, type CommandContext, flag, str } from '../command.js'
import { readControlInfo, statusOf } from '../detach/local-node.js'
import { NODE_OPTIONS, nodeArgv } from '../detach/node-argv.js'
import { startDetached } from '../detach/spawn-node.js'
import { CliError, UsageError } from '../errors.js'
import { printJson } from '../format.js'
import { checkCardOptions } from '../node-args.js'
import { printStatus } from './status.js'

const DEFAULT_TIMEOUT = '30s'

function report(ctx: CommandContext, s: StatusJson, alreadyRunning: boolean, logFile: string): number {
  if (flag(ctx, 'json')) {
    printJson({ ...s, alreadyRunning, logFile })
    return 0
  }
  const what = alreadyRunning ? 'is already running' : 'started'
  process.stdout.write(`${s.card.name} ${what} (pid ${s.pid}); log: ${logFile}\n`)
  printStatus(s)
  return 0
}

export const up: Command = {
  name: 'up',
  summary: "start this agent's node in the background (no-op if it runs)",
  usage: 'up --name NAME [node options] [--timeout DURATION] [--log-json] [--json]',
  details:
    'Starts `clawlink node` with the same options, detached (its own session), its output appended to\n' +
    '<data dir>/node.log (kept under 10 MiB, the previous part in node.log.1), and returns once the node\n' +
    'answers on its control socket: exit 0 and its status. If the node exits first, the reason from its log\n' +
    'and exit 1 (2 for a bad option); if it does not answer within --timeout, exit 1 and it is left\n' +
    'starting. Run again while the node runs: says so and exits 0. --json prints the status JSON (see\n' +
    '`clawlink status --help`) plus {alreadyRunning, logFile}. See also: down, logs.',
  options: {
    ...NODE_OPTIONS,
    timeout: {
      type: 'string',
      value: 'DURATION',
      description: `how long to wait for the node to answer (default ${DEFAULT_TIMEOUT})`,
    },
    'log-json': { type: 'boolean', description: 'the node logs JSON lines (its --json) to its log file' },
    json: { type: 'boolean', description: 'print the status as JSON' },
  },
  async run(ctx) {
    const name = str(ctx, 'name') ?? str(ctx, 'as') ?? ctx.env.CLAWLINK_AGENT
    if (name == null || name === '') throw new UsageError('--name is required', 'up')
    checkCardOptions({ name }, 'up')
    const timeoutMs = parseDuration(str(ctx, 'timeout') ?? DEFAULT_TIMEOUT, '--timeout')
    const dataDir = dataDirPaths(
      str(ctx, 'data-dir') ?? defaultDataDir(clawlinkHome(ctx.env), name),
      ctx.env,
    ).root
    const logFile = nodeLogPath(dataDir)
    const running = async () => {
      const info = readControlInfo(dataDir, ctx.env)
      return info != null ? statusOf(info) : undefined
    }
    const before = await running()
    if (before != null) return report(ctx, before, true, logFile)

    ensurePrivateDir(dataDir)
    const args = nodeArgv(ctx, ['json', 'log-json', 'timeout'])
    if (flag(ctx, 'log-json')) args.push('--json')
    if (str(ctx, 'name') == null) args.unshift(`--name=${name}`)
    const result = await startDetached({ dataDir, logFile, args, env: ctx.env, timeoutMs })
    // `earlier`: a node an earlier `up` spawned was still starting; this one waited for it
    if (result.kind === 'started') return report(ctx, result.status, result.earlier === true, logFile)
    if (result.kind === 'timeout') {
      throw new CliError(
        `the node ${name} (pid ${result.pid}) did not answer within ${str(ctx, 'timeout') ?? DEFAULT_TIMEOUT}; ` +
          `it may still be starting: see clawlink logs --as ${name}, stop it with clawlink down --as ${name}`,
      )
    }
    // another `up` of the same node may have won the race: then it runs, as asked
    const now = await running()
    if (now != null) return report(ctx, now, true, logFile)
    const how = result.signal != null ? `was killed by ${result.signal}` : `exited with ${result.code}`
    throw new CliError(
      `the node ${name} did not start (it ${how}): ${result.reason}; log: ${logFile}`,
      result.code === 2 ? 2 : 1,
    )
  },
}
