// What a soak run does and how hard; parsed from `npm run soak -- [flags]`, every value bounded.
import { parseDuration } from '../../dist/cli/args.js'

export interface SoakOptions {
  /** how long the load runs (ms) */
  durationMs: number
  /** one node is SIGKILLed and restarted this often (ms); 0: never */
  killEveryMs: number
  /** how many nodes */
  nodes: number
  /** how many of them (the last ones) take turns being killed; the others live the whole run */
  victims: number
  /** how long a killed node stays down before it is restarted (ms) */
  downMs: number
  /** the RSS baseline of the long-lived nodes is taken after this long (ms) */
  warmupMs: number
  /** after the load stops, how long the mesh may take to settle before it is judged (ms) */
  quiesceMs: number
  /** largest RSS growth of a long-lived node from warm-up to the end, in percent of the baseline */
  rssGrowthPct: number
  /** largest RSS growth of a long-lived node from warm-up to the end, in MiB */
  rssGrowthMiB: number
  /** each agent delegates a task this often (ms, ±50% jitter) */
  taskEveryMs: number
  /** each agent broadcasts this often (ms, ±50% jitter) */
  broadcastEveryMs: number
  /** each agent writes a file this often (ms, ±50% jitter) */
  fileEveryMs: number
  /** keep the nodes' homes and data dirs after the run (for a post-mortem) */
  keep: boolean
  /** progress lines; silent when absent */
  log?: (line: string) => void
}

export const MAX_NODES = 10

export function defaultOptions(): SoakOptions {
  return {
    durationMs: 10 * 60_000,
    killEveryMs: 60_000,
    nodes: 5,
    victims: 2,
    downMs: 2_000,
    warmupMs: 60_000,
    quiesceMs: 60_000,
    rssGrowthPct: 50,
    rssGrowthMiB: 100,
    taskEveryMs: 500,
    broadcastEveryMs: 2_000,
    fileEveryMs: 1_500,
    keep: false,
  }
}

export class SoakUsageError extends Error {
  override name = 'SoakUsageError'
}

const DURATIONS: Record<string, keyof SoakOptions> = {
  '--duration': 'durationMs',
  '--kill-every': 'killEveryMs',
  '--down': 'downMs',
  '--warmup': 'warmupMs',
  '--quiesce': 'quiesceMs',
  '--task-every': 'taskEveryMs',
  '--broadcast-every': 'broadcastEveryMs',
  '--file-every': 'fileEveryMs',
}
const NUMBERS: Record<string, keyof SoakOptions> = {
  '--nodes': 'nodes',
  '--victims': 'victims',
  '--rss-growth': 'rssGrowthPct',
  '--rss-growth-mib': 'rssGrowthMiB',
}

export const USAGE = `npm run soak -- [--duration 10m] [--kill-every 60s] [--nodes 5] [--victims 2] [--down 2s]
                  [--warmup 60s] [--quiesce 60s] [--rss-growth 50] [--rss-growth-mib 100]
                  [--task-every 500ms] [--broadcast-every 2s] [--file-every 1.5s] [--keep] [--json]
(--kill-every 0 disables kills; --warmup defaults to a quarter of the duration, at most 60 s)`

/** Parses soak flags (`--flag value` or `--flag=value`); `json` asks for the result as JSON on stdout. */
export function parseSoakArgs(argv: string[]): { options: SoakOptions; json: boolean; help: boolean } {
  const options = defaultOptions()
  let json = false
  let help = false
  let warmupGiven = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const eq = arg.indexOf('=')
    const flag = eq > 0 ? arg.slice(0, eq) : arg
    if (flag === '--json' || flag === '--keep' || flag === '--help' || flag === '-h') {
      if (eq > 0) throw new SoakUsageError(`${flag} takes no value`)
      if (flag === '--json') json = true
      else if (flag === '--keep') options.keep = true
      else help = true
      continue
    }
    const field = DURATIONS[flag] ?? NUMBERS[flag]
    if (field == null) throw new SoakUsageError(`unknown option ${flag}`)
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i]
    if (value == null) throw new SoakUsageError(`${flag} needs a value`)
    if (flag === '--warmup') warmupGiven = true
    ;(options as unknown as Record<string, number>)[field] =
      DURATIONS[flag] != null ? duration(value, flag) : number(value, flag)
  }
  if (!warmupGiven) options.warmupMs = Math.min(60_000, Math.round(options.durationMs / 4))
  validateOptions(options)
  return { options, json, help }
}

function duration(raw: string, flag: string): number {
  if (flag === '--kill-every' && raw.trim() === '0') return 0
  try {
    return parseDuration(raw, flag)
  } catch (err) {
    throw new SoakUsageError((err as Error).message)
  }
}

function number(raw: string, flag: string): number {
  const n = Number(raw)
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0) throw new SoakUsageError(`${flag} expects a number`)
  return n
}

/** Refuses runs that could not mean anything (or would swamp the machine). */
export function validateOptions(o: SoakOptions): void {
  const need = (ok: boolean, message: string) => {
    if (!ok) throw new SoakUsageError(message)
  }
  need(Number.isInteger(o.nodes) && o.nodes >= 2 && o.nodes <= MAX_NODES, `--nodes must be 2-${MAX_NODES}`)
  need(
    Number.isInteger(o.victims) && o.victims >= 0 && o.victims < o.nodes,
    '--victims must be an integer from 0 to nodes - 1 (one node at least must live the whole run)',
  )
  need(o.durationMs >= 10_000 && o.durationMs <= 24 * 3_600_000, '--duration must be 10s-24h')
  need(o.killEveryMs === 0 || o.killEveryMs >= 5_000, '--kill-every must be 0 or at least 5s')
  need(o.killEveryMs === 0 || o.downMs < o.killEveryMs, '--down must be shorter than --kill-every')
  need(o.downMs <= 60_000, '--down must be at most 60s')
  need(o.warmupMs < o.durationMs, '--warmup must be shorter than --duration')
  need(o.quiesceMs >= 5_000 && o.quiesceMs <= 600_000, '--quiesce must be 5s-10m')
  need(o.rssGrowthPct > 0 && o.rssGrowthPct <= 1000, '--rss-growth must be a percentage from 1 to 1000')
  need(o.rssGrowthMiB > 0 && o.rssGrowthMiB <= 4096, '--rss-growth-mib must be 1-4096')
  for (const [flag, ms] of [
    ['--task-every', o.taskEveryMs],
    ['--broadcast-every', o.broadcastEveryMs],
    ['--file-every', o.fileEveryMs],
  ] as const)
    need(ms >= 50 && ms <= 3_600_000, `${flag} must be 50ms-1h`)
  // every broadcast of the run must fit one knowledge listing (and the node's retention)
  const broadcasts = o.nodes * Math.ceil(o.durationMs / (o.broadcastEveryMs / 2))
  need(broadcasts <= 10_000, 'too many broadcasts for one run (at most 10000): raise --broadcast-every')
}
