// Signed broadcasts: made by their author, verified by everyone, forwarded unchanged in history sync.
import { createHash, randomBytes } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { signBody, verifyBody } from '../signed-body.js'
import { decodeStrict } from '../strings.js'
import {
  MAX_BROADCAST_SIZE,
  MAX_CONTENT_SIZE,
  MAX_FUTURE_SKEW,
  MAX_HOSTED_AGENT_LENGTH,
  MAX_TAG_LENGTH,
  MAX_TAGS,
  MAX_TOPIC_LENGTH,
  SIGNING_DOMAIN,
} from './constants.js'
import { InvalidBroadcastError } from './errors.js'
import { Broadcast, BroadcastBody } from './pb/knowledge.js'

const TOPIC_RE = /^[a-z0-9][a-z0-9._-]*$/
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
const TAG_BAD = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069,]/
// the ids hosted agents have (src/protocols/presence/card.ts)
const HOSTED_AGENT_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/
const DOMAIN = new TextEncoder().encode(SIGNING_DOMAIN)

export interface BroadcastInput {
  topic: string
  tags: string[]
  content: string
  /** the agent hosted on the author's node that sends it (signed with the rest); absent for the node's own */
  fromHostedAgent?: string
}

/** A broadcast whose signature and fields have been checked. */
export interface VerifiedBroadcast {
  id: string
  author: string
  topic: string
  tags: string[]
  content: string
  /** the hosted agent (on the author's node) that sent it, as the author signed it */
  fromHostedAgent?: string
  time: number
  /** the encoded Broadcast, as received: what is stored and forwarded */
  raw: Uint8Array
}

export function validateTopic(topic: string): void {
  if (topic.length === 0 || topic.length > MAX_TOPIC_LENGTH || !TOPIC_RE.test(topic)) {
    throw new InvalidBroadcastError(
      `invalid topic ${JSON.stringify(topic.slice(0, 80))}: 1-${MAX_TOPIC_LENGTH} characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit`,
    )
  }
}

export function validateInput(input: BroadcastInput): void {
  validateTopic(input.topic)
  if (input.tags.length > MAX_TAGS)
    throw new InvalidBroadcastError(`too many tags: ${input.tags.length} (at most ${MAX_TAGS})`)
  for (const tag of input.tags) {
    if (tag.length === 0 || tag.length > MAX_TAG_LENGTH || TAG_BAD.test(tag)) {
      throw new InvalidBroadcastError(
        `invalid tag ${JSON.stringify(tag.slice(0, 80))}: 1-${MAX_TAG_LENGTH} characters, no commas or control characters`,
      )
    }
  }
  const hosted = input.fromHostedAgent
  if (hosted != null && (hosted.length > MAX_HOSTED_AGENT_LENGTH || !HOSTED_AGENT_RE.test(hosted))) {
    throw new InvalidBroadcastError(
      `invalid hosted agent ${JSON.stringify(hosted.slice(0, 80))}: 1-${MAX_HOSTED_AGENT_LENGTH} letters, digits, '.', '_' or '-'`,
    )
  }
  if (new Set(input.tags).size !== input.tags.length) throw new InvalidBroadcastError('tags must not repeat')
  if (input.content.trim() === '') throw new InvalidBroadcastError('content is empty')
  const size = Buffer.byteLength(input.content, 'utf8')
  if (size > MAX_CONTENT_SIZE) {
    throw new InvalidBroadcastError(`content is ${size} bytes; the limit is ${MAX_CONTENT_SIZE}`)
  }
}

/** The id: derived from the signed bytes, so nobody can choose or reuse one. */
export function broadcastId(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 32)
}

export async function createBroadcast(
  key: PrivateKey,
  authorBytes: Uint8Array,
  input: BroadcastInput,
  time = Date.now(),
) {
  validateInput(input)
  const body = BroadcastBody.encode({
    author: authorBytes as Uint8Array<ArrayBuffer>,
    topic: input.topic,
    tags: input.tags,
    content: input.content,
    time: BigInt(time),
    nonce: Uint8Array.from(randomBytes(8)),
    fromHostedAgent: input.fromHostedAgent,
  })
  const signature = await signBody(key, DOMAIN, body)
  return Broadcast.encode({ body, signature: signature as Uint8Array<ArrayBuffer> })
}

/**
 * Decodes and verifies a broadcast from anyone (live or history). Throws InvalidBroadcastError if it
 * is malformed, over a limit, too far in the future, or not signed by its author.
 */
export async function openBroadcast(
  raw: Uint8Array | Uint8ArrayList,
  now = Date.now(),
): Promise<VerifiedBroadcast> {
  const bytes = raw instanceof Uint8Array ? raw : raw.subarray()
  if (bytes.byteLength > MAX_BROADCAST_SIZE)
    throw new InvalidBroadcastError(`broadcast of ${bytes.byteLength} bytes`)
  let msg: Broadcast
  let body: BroadcastBody
  try {
    msg = Broadcast.decode(bytes)
    body = decodeStrict(BroadcastBody, msg.body)
  } catch (err) {
    throw new InvalidBroadcastError(`malformed broadcast: ${(err as Error).message}`)
  }
  let checked: { author: string; valid: boolean }
  try {
    checked = await verifyBody(DOMAIN, body.author, msg.body, msg.signature)
  } catch (err) {
    throw new InvalidBroadcastError(`broadcast with an unusable author: ${(err as Error).message}`)
  }
  if (!checked.valid)
    throw new InvalidBroadcastError('broadcast signature does not match its author and content')
  const { author } = checked
  const input: BroadcastInput = { topic: body.topic, tags: body.tags, content: body.content }
  if (body.fromHostedAgent != null) input.fromHostedAgent = body.fromHostedAgent
  validateInput(input)
  const time = Number(body.time)
  if (!Number.isSafeInteger(time) || time <= 0) throw new InvalidBroadcastError('broadcast time out of range')
  if (time > now + MAX_FUTURE_SKEW)
    throw new InvalidBroadcastError('broadcast from the future (clock skew over 5 minutes)')
  // keep the canonical encoding, not the bytes as received: a forwarder could pad those with unknown fields
  return {
    id: broadcastId(msg.body),
    author,
    ...input,
    time,
    raw: Broadcast.encode({ body: msg.body, signature: msg.signature }),
  }
}
