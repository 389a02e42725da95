import type { BroadcastRequest } from '../../api/types.js'
import { sendBroadcast } from '../../client/requests.js'
import { splitList } from '../args.js'
import { type Command, flag, str } from '../command.js'
import { connect } from '../connect.js'
import { UsageError } from '../errors.js'
import { printJson } from '../format.js'
import { readStdin } from '../stdin.js'

export const broadcast: Command = {
  name: 'broadcast',
  summary: 'tell the whole mesh something',
  usage: 'broadcast --content TEXT [--topic TOPIC] [--tags a,b] [--json]',
  details:
    "Signs the broadcast with this agent's key and publishes it; agents that are away get it through\n" +
    'history sync when they reconnect. Content at most 64 KiB (--content - reads stdin); topic (default\n' +
    'general) 1-64 of a-z 0-9 . _ -; at most 16 tags of 64 characters.\n' +
    '--json prints {id, author {id, name}, topic, tags, content, time, receivedAt}.',
  options: {
    content: { type: 'string', value: 'TEXT', description: 'what to say (- reads stdin)' },
    topic: { type: 'string', value: 'TOPIC', description: 'topic (default general)' },
    tags: { type: 'string', value: 'a,b', multiple: true, description: 'tags, comma-separated' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(ctx) {
    let content = str(ctx, 'content')
    if (content == null) throw new UsageError('--content is required', 'broadcast')
    if (content === '-') content = await readStdin()
    const body: BroadcastRequest = { content, topic: str(ctx, 'topic'), tags: splitList(ctx.options.tags) }
    const b = await sendBroadcast(connect(ctx), body)
    if (flag(ctx, 'json')) printJson(b)
    else
      process.stdout.write(
        `broadcast ${b.id} on ${b.topic}${b.tags.length > 0 ? ` [${b.tags.join(',')}]` : ''}\n`,
      )
    return 0
  },
}
