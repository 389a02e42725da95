// `clawlink down`: stops a node (however it was started) with SIGTERM, so it leaves the mesh cleanly,
// and waits until its process is gone.
import { parseDuration } from '../args.js'
import { type Command, flag, str } from '../command.js'
import { nodeDataDir, processGone, readControlInfo, sleep, statusOf } from '../detach/local-node.js'
import { CliError } from '../errors.js'
import { printJson } from '../format.js'

const DEFAULT_TIMEOUT = '30s'

export const down: Command = {
  name: 'down',
  summary: 'stop a running node cleanly and wait until it is gone',
  usage: 'down [--as NAME | --data-dir DIR] [--timeout DURATION] [--json]',
  details:
    "Sends SIGTERM to the node's pid (from its control.json, after checking that the node answering on\n" +
    'its socket has that pid) and waits for it to exit. A node that is not running: says so, exit 0.\n' +
    '--json prints {name, dataDir, pid, wasRunning, stopped}. Exit 1 if the node does not answer (it is\n' +
    'not signalled) or is still running after --timeout.',
  options: {
    timeout: {
      type: 'string',
      value: 'DURATION',
      description: `how long to wait for the node to exit (default ${DEFAULT_TIMEOUT})`,
    },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
  async run(ctx) {
    const timeoutMs = parseDuration(str(ctx, 'timeout') ?? DEFAULT_TIMEOUT, '--timeout')
    const dataDir = nodeDataDir(ctx)
    const info = readControlInfo(dataDir, ctx.env)
    const say = (text: string, r: { name?: string; pid?: number; wasRunning: boolean; stopped: boolean }) => {
      if (flag(ctx, 'json')) printJson({ name: r.name ?? null, dataDir, pid: r.pid ?? null, ...r })
      else process.stdout.write(`${text}\n`)
      return 0
    }
    if (info == null || processGone(info.pid)) {
      return say(`no node is running with data dir ${dataDir}`, {
        name: info?.name,
        wasRunning: false,
        stopped: false,
      })
    }
    // never signal a pid the node does not confirm: after a crash it may belong to another process
    const status = await statusOf(info)
    if (status == null) {
      throw new CliError(
        `the node ${info.name} (pid ${info.pid}) does not answer on its control socket, so it is not signalled; if it is stuck: kill ${info.pid}`,
      )
    }
    try {
      process.kill(info.pid, 'SIGTERM')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
    }
    const deadline = Date.now() + timeoutMs
    while (!processGone(info.pid)) {
      if (Date.now() >= deadline) {
        throw new CliError(
          `the node ${info.name} (pid ${info.pid}) is still running ${str(ctx, 'timeout') ?? DEFAULT_TIMEOUT} after SIGTERM; it may still be leaving the mesh (force it: kill -9 ${info.pid})`,
        )
      }
      await sleep(100)
    }
    return say(`stopped ${info.name} (pid ${info.pid})`, {
      name: info.name,
      pid: info.pid,
      wasRunning: true,
      stopped: true,
    })
  },
}
