// The MCP tools of the shared file map: put, get and list, as the CLI's file-put, file-get and file-list.
import { resolve } from 'node:path'
import * as z from 'zod'
import { copyOut, getFile, listFiles, putContent, putFile } from '../client/requests.js'
import { MAX_KEY_BYTES, MAX_MEDIA_TYPE_LENGTH } from '../rules/limits.js'
import { readTextPrefix } from './file-text.js'
import { DEFAULT_TEXT_BYTES, json, MAX_INLINE_CONTENT, MAX_TEXT_BYTES, short, tool } from './tool.js'

export const filePut = tool({
  name: 'file_put',
  description:
    'Write a file into the shared file map every agent in the mesh can read: text `content`, or a local ' +
    'file by `path`. Returns the new version. With `base` the write happens only if the current version is ' +
    'still `base` (compare-and-swap): on refusal, read the latest, merge, and write again. Every member can ' +
    "read what is put: the node's identity and mesh keys and files under its data dir or CLAWLINK_HOME are " +
    'refused (only a person, with `clawlink file-put --force`, can share those).',
  annotations: {
    title: 'Write a shared file',
    readOnlyHint: false,
    destructiveHint: true,
    idempotentHint: false,
    openWorldHint: true,
  },
  input: {
    key: z.string().min(1).max(MAX_KEY_BYTES).describe('path-like, e.g. reports/q3.md: no leading /, no ..'),
    content: z
      .string()
      .max(MAX_INLINE_CONTENT)
      .optional()
      .describe(`the text to store (at most ${MAX_INLINE_CONTENT} characters; give this or path)`),
    path: short('a local file to store instead of content (any size, binary too)').optional(),
    base: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('only write if the current version is this (0: new key)'),
    media_type: z
      .string()
      .min(1)
      .max(MAX_MEDIA_TYPE_LENGTH)
      .optional()
      .describe('default: from the key, else text/plain for content'),
  },
  async run(a, ctx) {
    if ((a.content == null) === (a.path == null)) throw new Error('give exactly one of content and path')
    const api = ctx.api()
    const req = { key: a.key, base: a.base, type: a.media_type }
    const file =
      a.content != null
        ? await putContent(api, { ...req, type: a.media_type ?? guessTextType(a.key) }, a.content, {
            signal: ctx.signal,
          })
        : await putFile(api, { ...req, path: resolve(a.path!) }, { signal: ctx.signal })
    return json(file)
  },
})

/** Inline content is text: say so unless the key's extension tells the node better. */
function guessTextType(key: string): string | undefined {
  return /\.[A-Za-z0-9]{1,10}$/.test(key) ? undefined : 'text/plain; charset=utf-8'
}

export const fileGet = tool({
  name: 'file_get',
  description:
    'Read a file from the shared file map as text (fetched from a peer if this node does not have it yet). ' +
    `Returns the version's metadata, then the text: at most max_bytes (default ${DEFAULT_TEXT_BYTES}); a ` +
    'larger file is cut and says so, binary content is not returned: pass `save_to` to write the whole ' +
    'file to a local path instead.',
  annotations: {
    title: 'Read a shared file',
    readOnlyHint: false,
    destructiveHint: true,
    idempotentHint: true,
    openWorldHint: true,
  },
  input: {
    key: z.string().min(1).max(MAX_KEY_BYTES).describe('the key'),
    version: z.number().int().min(1).optional().describe('an older version kept in history'),
    max_bytes: z
      .number()
      .int()
      .min(1)
      .max(MAX_TEXT_BYTES)
      .optional()
      .describe(`return at most this many bytes of text (default ${DEFAULT_TEXT_BYTES})`),
    save_to: short('write the whole content to this local file instead of returning it').optional(),
  },
  async run(a, ctx) {
    const got = await getFile(ctx.api(), { key: a.key, version: a.version }, { signal: ctx.signal })
    if (a.save_to != null) {
      const dest = resolve(a.save_to)
      await copyOut(got.path, dest)
      return json({ ...got.file, savedTo: dest })
    }
    const max = a.max_bytes ?? DEFAULT_TEXT_BYTES
    const prefix = await readTextPrefix(got.path, max)
    const meta = JSON.stringify(got.file, null, 2)
    if (prefix.text == null) {
      return {
        text: [
          meta,
          `[binary content, ${got.file.size} bytes (${got.file.mediaType}): not shown; pass save_to to write it to a file]`,
        ],
      }
    }
    const note = prefix.truncated
      ? [`[truncated: the first ${prefix.bytes} of ${got.file.size} bytes; raise max_bytes or pass save_to]`]
      : []
    return { text: [meta, prefix.text, ...note] }
  },
})

export const fileList = tool({
  name: 'file_list',
  description:
    'List the keys in the shared file map with version, size, author, time, and `conflict` when a ' +
    'concurrent write is kept in history (someone should merge).',
  annotations: {
    title: 'List shared files',
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  input: {
    prefix: z.string().max(MAX_KEY_BYTES).optional().describe('only keys starting with this'),
    all: z.boolean().optional().describe('include deleted keys'),
  },
  run: async (a, ctx) =>
    json(await listFiles(ctx.api(), { prefix: a.prefix, all: a.all, signal: ctx.signal })),
})
