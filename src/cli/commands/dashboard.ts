import { spawn } from 'node:child_process'
import { isIP } from 'node:net'
import { isLoopbackHost } from '../../rules/listen.js'
import { type Command, flag, num, str } from '../command.js'
import { UsageError } from '../errors.js'

const DEFAULT_PORT = 7780
/** How long closing the server may take after SIGINT/SIGTERM before the command exits anyway. */
const CLOSE_DEADLINE_MS = 5_000

export const dashboard: Command = {
  name: 'dashboard',
  summary: 'a live web dashboard of the mesh, the tasks, the broadcasts and the files',
  usage: 'dashboard [--as NAME | --data-dir DIR] [--port P] [--host H] [--open]',
  details:
    'Serves a web app on http://127.0.0.1:7780 (another port if that one is taken, unless --port is\n' +
    'given) and prints its URL with a random per-run token on stdout; it runs until SIGINT/SIGTERM. It\n' +
    'talks to the node(s) of this user through the control API, follows the node across restarts and\n' +
    'can switch to any node running on this host. --host other than loopback makes it reachable from\n' +
    'other machines (still only with the token). See docs/dashboard.md.',
  options: {
    port: { type: 'number', value: 'P', min: 0, max: 65535, description: 'the TCP port (0: any free one)' },
    host: { type: 'string', value: 'H', description: 'the address to listen on (default 127.0.0.1)' },
    open: { type: 'boolean', description: 'open the URL in the default browser' },
  },
  async run(ctx) {
    const host = str(ctx, 'host') ?? '127.0.0.1'
    if (isIP(host.replace(/^\[(.*)\]$/, '$1')) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/.test(host))
      throw new UsageError(`--host: invalid host ${JSON.stringify(host.slice(0, 100))}`, ctx.command)
    const sel = { as: str(ctx, 'as'), dataDir: str(ctx, 'data-dir') }
    const { startDashboard } = await import('../../dashboard/server.js')
    const given = num(ctx, 'port')
    const start = (port: number) =>
      startDashboard({ sel, env: ctx.env, host: host.replace(/^\[(.*)\]$/, '$1'), port })
    let server: Awaited<ReturnType<typeof start>>
    try {
      server = await start(given ?? DEFAULT_PORT)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (given == null && code === 'EADDRINUSE') server = await start(0)
      else if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES')
        throw new UsageError(`cannot listen on ${host}:${given}: ${code}`, ctx.command)
      else if (code === 'ENOENT')
        throw new Error('the dashboard app is not built (dist/dashboard/web); run npm run build')
      else throw err
    }
    process.stdout.write(`${server.url}\n`)
    if (!isLoopbackHost(host))
      process.stderr.write(
        `clawlink dashboard: listening on ${host}, reachable from other machines; only the token protects it\n`,
      )
    if (flag(ctx, 'open')) openBrowser(server.url)
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve)
      process.once('SIGTERM', resolve)
    })
    // a browser tab or a node that never lets go of a connection does not hold the exit (main exits)
    await Promise.race([server.close(), new Promise((r) => setTimeout(r, CLOSE_DEADLINE_MS).unref())])
    return 0
  },
}

/** Best effort: the URL is printed anyway. */
function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open'
  try {
    const child = spawn(cmd, [url], { stdio: 'ignore', detached: true })
    child.on('error', () =>
      process.stderr.write(`clawlink dashboard: cannot run ${cmd}; open the URL above\n`),
    )
    child.unref()
  } catch {}
}
