import { listKnowledge, parseSince } from '../../client/requests.js'
import { type Command, flag, num, str } from '../command.js'
import { connect } from '../connect.js'
import { UsageError } from '../errors.js'
import { ago, printJson, shortId } from '../format.js'

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
    const sinceRaw = str(ctx, 'since')
    const since = sinceRaw != null ? parseSince(sinceRaw) : undefined
    if (sinceRaw != null && since == null) {
      throw new UsageError(
        `--since expects an ISO time or a duration such as 2h or 7d; got ${JSON.stringify(sinceRaw)}`,
        'knowledge',
      )
    }
    const list = await listKnowledge(connect(ctx), {
      topic: str(ctx, 'topic'),
      tag: str(ctx, 'tag'),
      from: str(ctx, 'from'),
      since,
      limit: num(ctx, 'limit'),
    })
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
