import type { BroadcastJson } from '../../control/types.js'
import { type Command, flag, num, str } from '../command.js'
import { connect } from '../connect.js'
import { UsageError } from '../errors.js'
import { ago, printJson, shortId } from '../format.js'

/** ISO 8601, or a duration back from now (30m, 2h, 7d). */
function parseSince(raw: string): number {
  const rel = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(raw)
  if (rel != null) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd']
    return Date.now() - Number(rel[1]) * unit
  }
  const t = Date.parse(raw)
  if (Number.isNaN(t))
    throw new UsageError(
      `--since expects an ISO time or a duration such as 2h or 7d; got ${JSON.stringify(raw)}`,
      'knowledge',
    )
  return t
}

export const knowledge: Command = {
  name: 'knowledge',
  summary: 'broadcasts this node holds, newest first',
  usage: 'knowledge [--topic T] [--tag X] [--from AGENT] [--since TIME] [--limit N] [--json]',
  details:
    '--since takes an ISO time or a duration back from now (2h, 7d). --json prints an array of broadcasts\n(see broadcast).',
  options: {
    topic: { type: 'string', value: 'T', description: 'only this topic' },
    tag: { type: 'string', value: 'X', description: 'only broadcasts with this tag' },
    from: { type: 'string', value: 'AGENT', description: 'only by this author (name, PeerId or prefix)' },
    since: { type: 'string', value: 'TIME', description: 'only since then' },
    limit: { type: 'number', value: 'N', min: 1, max: 10_000, description: 'at most N (default 100)' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    const q = new URLSearchParams({ limit: String(num(ctx, 'limit') ?? 100) })
    for (const key of ['topic', 'tag', 'from']) {
      const v = str(ctx, key)
      if (v != null) q.set(key, v)
    }
    const since = str(ctx, 'since')
    if (since != null) q.set('since', String(parseSince(since)))
    const list = await connect(ctx).get<BroadcastJson[]>(`/v1/knowledge?${q}`)
    if (flag(ctx, 'json')) {
      printJson(list)
      return 0
    }
    if (list.length === 0) process.stdout.write('no broadcasts\n')
    for (const b of list) {
      const tags = b.tags.length > 0 ? ` [${b.tags.join(',')}]` : ''
      process.stdout.write(
        `${b.topic}${tags} · ${b.author.name} (${shortId(b.author.id)}) · ${ago(b.time)}\n`,
      )
      process.stdout.write(`${b.content.replace(/^/gm, '    ')}\n`)
    }
    return 0
  },
}
