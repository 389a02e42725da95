// Signed file-map entries: made by their author, verified by every node, forwarded unchanged.
import { createHash } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { signBody, verifyBody } from '../signed-body.js'
import { decodeStrict } from '../strings.js'
import {
  MAX_ENTRY_SIZE,
  MAX_FUTURE_SKEW,
  MAX_HOSTED_EDITOR_LENGTH,
  MAX_KEY_BYTES,
  MAX_MEDIA_TYPE_LENGTH,
  MAX_VERSION_LEAD,
  MAX_VERSION_STEP,
  SIGNING_DOMAIN,
} from './constants.js'
import { FileError, InvalidEntryError, VersionJumpError } from './errors.js'
import { Entry, EntryBody } from './pb/files.js'

const DOMAIN = new TextEncoder().encode(SIGNING_DOMAIN)
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we refuse
const CONTROL_RE = /[\u0000-\u001f\u007f]/
const LONE_SURROGATE_RE = /\p{Cs}/u
const MEDIA_RE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(;.*)?$/i
// the ids hosted agents have (src/protocols/presence/card.ts)
const HOSTED_EDITOR_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/

export interface EntryFields {
  key: string
  version: number
  base: number
  time: number
  size: number
  /** hex; empty for a deletion */
  sha256: string
  mediaType: string
  deleted: boolean
  /** the agent hosted on the author's node (a v1 agent) that wrote it, signed with the rest */
  hostedEditor?: string
}

export interface VerifiedEntry extends EntryFields {
  /** sha256 of the signed body, first 32 hex digits */
  id: string
  author: string
  raw: Uint8Array
}

/** A key is path-like: at most 512 bytes, no leading '/', no '..' segment, no NUL or control characters. */
export function validateKey(key: string): void {
  const bad = (why: string) =>
    new FileError('invalid_key', `invalid key ${JSON.stringify(key.slice(0, 80))}: ${why}`)
  if (key.length === 0) throw bad('empty')
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw bad(`longer than ${MAX_KEY_BYTES} bytes`)
  if (key.startsWith('/')) throw bad("starts with '/'")
  if (CONTROL_RE.test(key)) throw bad('contains NUL or control characters')
  // stored as UTF-8, a lone surrogate turns into U+FFFD: two different keys would share one history
  if (LONE_SURROGATE_RE.test(key)) throw bad('is not valid Unicode (a lone surrogate)')
  if (key.split('/').some((seg) => seg === '..')) throw bad("contains a '..' segment")
}

export function validateMediaType(mediaType: string): void {
  if (
    mediaType.length > MAX_MEDIA_TYPE_LENGTH ||
    !MEDIA_RE.test(mediaType) ||
    // '.' in the parameters would let NUL, ESC or TAB through
    CONTROL_RE.test(mediaType)
  ) {
    throw new FileError(
      'invalid',
      `invalid media type ${JSON.stringify(mediaType.slice(0, 80))} (like text/markdown)`,
    )
  }
}

/** A hosted editor is a hosted agent's id: 1-48 letters, digits, '.', '_' or '-'. */
export function validateHostedEditor(editor: string): void {
  if (editor.length > MAX_HOSTED_EDITOR_LENGTH || !HOSTED_EDITOR_RE.test(editor))
    throw new FileError(
      'invalid',
      `invalid hosted editor ${JSON.stringify(editor.slice(0, 80))}: 1-${MAX_HOSTED_EDITOR_LENGTH} letters, digits, '.', '_' or '-'`,
    )
}

export function entryId(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 32)
}

export async function createEntry(
  key: PrivateKey,
  authorBytes: Uint8Array,
  f: EntryFields,
): Promise<Uint8Array> {
  // the varint writer takes exact non-negative integers only (it would write garbage for others)
  for (const what of ['version', 'base', 'time', 'size'] as const) {
    if (!Number.isSafeInteger(f[what]) || f[what] < 0)
      throw new FileError('invalid', `${what} ${f[what]} is not an integer from 0 to 2^53 - 1`)
  }
  if (f.hostedEditor != null) validateHostedEditor(f.hostedEditor)
  const body = EntryBody.encode({
    key: f.key,
    version: f.version,
    base: f.base,
    author: authorBytes as Uint8Array<ArrayBuffer>,
    time: f.time,
    size: f.size,
    sha256: Uint8Array.from(Buffer.from(f.sha256, 'hex')),
    mediaType: f.mediaType,
    deleted: f.deleted,
    hostedEditor: f.hostedEditor,
  })
  const signature = await signBody(key, DOMAIN, body)
  return Entry.encode({ body, signature: signature as Uint8Array<ArrayBuffer> })
}

/** Decodes and verifies an entry from anyone; throws InvalidEntryError. */
export async function openEntry(
  raw: Uint8Array | Uint8ArrayList,
  maxFileSize: number,
  now = Date.now(),
): Promise<VerifiedEntry> {
  const bytes = raw instanceof Uint8Array ? raw : raw.subarray()
  if (bytes.byteLength > MAX_ENTRY_SIZE) throw new InvalidEntryError(`entry of ${bytes.byteLength} bytes`)
  let msg: Entry
  let body: EntryBody
  try {
    msg = Entry.decode(bytes)
    body = decodeStrict(EntryBody, msg.body)
  } catch (err) {
    throw new InvalidEntryError(`malformed entry: ${(err as Error).message}`)
  }
  let checked: { author: string; valid: boolean }
  try {
    checked = await verifyBody(DOMAIN, body.author, msg.body, msg.signature)
  } catch (err) {
    throw new InvalidEntryError(`entry with an unusable author: ${(err as Error).message}`)
  }
  if (!checked.valid) throw new InvalidEntryError('entry signature does not match its author and content')
  const { author } = checked
  try {
    validateKey(body.key)
    if (body.mediaType !== '') validateMediaType(body.mediaType)
    if (body.hostedEditor != null) validateHostedEditor(body.hostedEditor)
  } catch (err) {
    throw new InvalidEntryError((err as Error).message)
  }
  // decoded as plain numbers: anything from 2^53 up comes out inexact, and is refused here
  const num = (n: number, what: string) => {
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidEntryError(`${what} out of range`)
    return n
  }
  const version = num(body.version, 'version')
  const base = num(body.base, 'base')
  const time = num(body.time, 'time')
  const size = num(body.size, 'size')
  // how far a version may jump above what a node has seen is checked by the node (Files.checkStep)
  if (version < 1 || base >= version) throw new InvalidEntryError('version must be above base')
  if (time > now + MAX_FUTURE_SKEW)
    throw new InvalidEntryError('entry from the future (clock skew over 5 minutes)')
  if (size > maxFileSize)
    throw new InvalidEntryError(`file of ${size} bytes is over this node's limit of ${maxFileSize}`)
  if (body.deleted ? body.sha256.length !== 0 || size !== 0 : body.sha256.length !== 32) {
    throw new InvalidEntryError(
      body.deleted ? 'a deletion carries no content' : 'content hash must be 32 bytes',
    )
  }
  return {
    id: entryId(msg.body),
    author,
    key: body.key,
    version,
    base,
    time,
    size,
    sha256: Buffer.from(body.sha256).toString('hex'),
    mediaType: body.mediaType,
    deleted: body.deleted,
    ...(body.hostedEditor != null ? { hostedEditor: body.hostedEditor } : {}),
    // the canonical encoding, not the bytes as received: a forwarder could pad those with unknown fields
    raw: Entry.encode({ body: msg.body, signature: msg.signature }),
  }
}

/**
 * The bounded step: throws VersionJumpError when `version` is more than MAX_VERSION_STEP above the
 * higher of `highest` (this node's highest version of the key, 0 if none) and the clock in ms, or more
 * than MAX_VERSION_LEAD above the clock.
 */
export function checkVersionStep(e: { key: string; version: number }, highest: number, now: number): void {
  const seen = Math.max(highest, now)
  if (e.version > seen + MAX_VERSION_STEP)
    throw new VersionJumpError(
      `version ${e.version} of ${e.key} is more than ${MAX_VERSION_STEP} above what this node has seen (${seen})`,
    )
  if (e.version > now + MAX_VERSION_LEAD)
    throw new VersionJumpError(
      `version ${e.version} of ${e.key} is more than ${MAX_VERSION_LEAD} above this node's clock in ms`,
    )
}
