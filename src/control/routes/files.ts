// Control API endpoints for the shared file map.
import { extname, isAbsolute } from 'node:path'
import type { FileGetResponse, FileJson, FileVersionJson } from '../../api/types.js'
import type { ClawLinkNode } from '../../core/node.js'
import { protectedReason } from '../../core/protected-paths.js'
import { dataDirPaths } from '../../home/paths.js'
import {
  FileError,
  type KeyState,
  type StoredEntry,
  stateOf,
  validateKey,
  validateMediaType,
} from '../../protocols/files/index.js'
import { ApiError, type ControlServer } from '../server.js'

const MEDIA_TYPES: Record<string, string> = {
  '.md': 'text/markdown',
  '.txt': 'text/plain',
  '.json': 'application/json',
  '.csv': 'text/csv',
  '.html': 'text/html',
  '.ts': 'text/x-typescript',
  '.js': 'text/javascript',
  '.py': 'text/x-python',
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.pdf': 'application/pdf',
}

async function guard<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof FileError) {
      const status = {
        invalid_key: 400,
        invalid: 400,
        not_found: 404,
        conflict: 409,
        too_large: 413,
        unavailable: 503,
      }[err.code]
      throw new ApiError(status, err.code, err.message)
    }
    throw err
  }
}

function fields(body: unknown, allowed: string[]): Record<string, unknown> {
  if (body == null || typeof body !== 'object' || Array.isArray(body))
    throw new ApiError(400, 'bad_request', 'expected a JSON object')
  const b = body as Record<string, unknown>
  for (const k of Object.keys(b))
    if (!allowed.includes(k)) throw new ApiError(400, 'bad_request', `unknown field ${k}`)
  return b
}

function key(b: Record<string, unknown> | URLSearchParams): string {
  const k = b instanceof URLSearchParams ? b.get('key') : b.key
  if (typeof k !== 'string') throw new ApiError(400, 'bad_request', 'key is required')
  validateKey(k)
  return k
}

function version(v: unknown, field: string): number | undefined {
  if (v == null) return undefined
  const n = typeof v === 'string' ? Number(v) : v
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw new ApiError(400, 'bad_request', `${field} must be a version number`)
  return n
}

/** Every member could read what is put: the node's keys and private state need --force. */
function refuseProtected(node: ClawLinkNode, path: string): void {
  const { options, meshKey } = node
  const meshKeyFile =
    meshKey.source === 'key-file' || meshKey.source === 'home-key' ? meshKey.origin : undefined
  const why = protectedReason(path, {
    identityKey: dataDirPaths(options.dataDir).identity,
    meshKey: meshKeyFile,
    dataDir: options.dataDir,
    home: options.home,
  })
  if (why != null)
    throw new ApiError(
      403,
      'protected',
      `refusing to share ${path}: it is ${why}, and every mesh member could read it (file-put --force shares it anyway)`,
    )
}

export function registerFileRoutes(server: ControlServer, node: ClawLinkNode): void {
  const fileJson = (s: KeyState): FileJson => ({
    key: s.key,
    version: s.winner.version,
    author: { id: s.winner.author, name: node.authorName(s.winner.author) },
    time: new Date(s.winner.time).toISOString(),
    size: s.winner.size,
    sha256: s.winner.sha256,
    mediaType: s.winner.mediaType,
    deleted: s.winner.deleted,
    conflict: s.conflict,
    versions: s.versions,
  })
  const versionJson = async (e: StoredEntry, winner: StoredEntry): Promise<FileVersionJson> => ({
    key: e.key,
    version: e.version,
    base: e.base,
    author: { id: e.author, name: node.authorName(e.author) },
    time: new Date(e.time).toISOString(),
    size: e.size,
    sha256: e.sha256,
    mediaType: e.mediaType,
    deleted: e.deleted,
    winner: e.id === winner.id,
    conflict: e.id !== winner.id && e.version > winner.base,
    local: e.deleted ? false : await node.blobStore.has(e.sha256),
  })

  server.route('POST', '/v1/files/put', (req) =>
    guard(async () => {
      const b = fields(req.body, ['key', 'path', 'base', 'type', 'force'])
      const k = key(b)
      if (typeof b.path !== 'string' || !isAbsolute(b.path))
        throw new ApiError(400, 'bad_request', 'path must be an absolute path')
      if (b.force != null && typeof b.force !== 'boolean')
        throw new ApiError(400, 'bad_request', 'force must be true or false')
      if (b.force !== true) refuseProtected(node, b.path)
      const base = version(b.base, 'base')
      const type =
        typeof b.type === 'string'
          ? b.type
          : (MEDIA_TYPES[extname(k).toLowerCase()] ?? 'application/octet-stream')
      validateMediaType(type)
      // fail fast on a stale base before copying a large file in
      node.files.checkBase(k, base)
      const { sha256, size } = await node.blobStore.importFile(b.path, node.files.maxFileSize)
      await node.files.write(k, { sha256, size, mediaType: type }, base)
      return fileJson(node.files.state(k)!)
    }),
  )

  server.route('POST', '/v1/files/rm', (req) =>
    guard(async () => {
      const b = fields(req.body, ['key', 'base'])
      const k = key(b)
      await node.files.write(k, 'delete', version(b.base, 'base'))
      return fileJson(node.files.state(k)!)
    }),
  )

  server.route('POST', '/v1/files/get', (req) =>
    guard(async (): Promise<FileGetResponse> => {
      const b = fields(req.body, ['key', 'version'])
      const k = key(b)
      const v = version(b.version, 'version')
      const history = node.fileStore.history(k)
      const state = stateOf(k, history)
      if (state == null) throw new FileError('not_found', `no file ${k}`)
      const entry = v == null ? state.winner : history.find((e) => e.version === v)
      if (entry == null) {
        throw new FileError(
          'not_found',
          `${k} has no version ${v} (kept: ${history.map((e) => e.version).join(', ')})`,
        )
      }
      if (entry.deleted) throw new FileError('not_found', `${k} was deleted in version ${entry.version}`)
      const blob = await node.files.ensureBlob(entry.sha256, entry.size, entry.author)
      if (!blob.ok) {
        throw new FileError(
          'unavailable',
          `the content of ${k} version ${entry.version} is not on this node and ${blob.reason}`,
        )
      }
      return { file: await versionJson(entry, state.winner), path: node.blobStore.path(entry.sha256) }
    }),
  )

  server.route('GET', '/v1/files', (req) =>
    guard(() => {
      const prefix = req.query.get('prefix') ?? ''
      const all = req.query.get('all') === '1'
      return node.fileStore
        .list(prefix)
        .filter((s) => all || !s.winner.deleted)
        .map(fileJson)
    }),
  )

  server.route('GET', '/v1/files/history', (req) =>
    guard(async () => {
      const k = key(req.query)
      const history = node.fileStore.history(k)
      const state = stateOf(k, history)
      if (state == null) throw new FileError('not_found', `no file ${k}`)
      return Promise.all(history.map((e) => versionJson(e, state.winner)))
    }),
  )

  server.route('GET', '/v1/files/progress', (req) => {
    const sha = req.query.get('sha256') ?? ''
    return node.transfers.get(sha) ?? null
  })
}
