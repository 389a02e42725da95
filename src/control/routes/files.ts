// Control API endpoints for the shared file map: parse, call core's FileService, present.
import { isAbsolute } from 'node:path'
import type { FileGetResponse, FileJson, FileVersionJson } from '../../api/types.js'
import { type ClawLinkNode, ProtectedPathError } from '../../core/index.js'
import { FileError, type KeyState, type StoredEntry, validateKey } from '../../protocols/files/index.js'
import { ApiError, type ControlServer } from '../server.js'

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
    if (err instanceof ProtectedPathError) throw new ApiError(403, err.code, err.message)
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
      const state = await node.fileService.put({
        key: k,
        path: b.path,
        base: version(b.base, 'base'),
        type: typeof b.type === 'string' ? b.type : undefined,
        force: b.force === true,
      })
      return fileJson(state)
    }),
  )

  server.route('POST', '/v1/files/rm', (req) =>
    guard(async () => {
      const b = fields(req.body, ['key', 'base'])
      const k = key(b)
      return fileJson(await node.fileService.remove(k, version(b.base, 'base')))
    }),
  )

  server.route('POST', '/v1/files/get', (req) =>
    guard(async (): Promise<FileGetResponse> => {
      const b = fields(req.body, ['key', 'version'])
      const k = key(b)
      const v = version(b.version, 'version')
      const { entry, winner, path } = await node.fileService.get(k, v)
      return { file: await versionJson(entry, winner), path }
    }),
  )

  server.route('GET', '/v1/files', (req) =>
    guard(() => {
      const prefix = req.query.get('prefix') ?? ''
      const all = req.query.get('all') === '1'
      return node.fileService.list(prefix, all).map(fileJson)
    }),
  )

  server.route('GET', '/v1/files/history', (req) =>
    guard(async () => {
      const k = key(req.query)
      const { history, winner } = node.fileService.history(k)
      return Promise.all(history.map((e) => versionJson(e, winner)))
    }),
  )

  server.route('GET', '/v1/files/progress', (req) => {
    const sha = req.query.get('sha256') ?? ''
    return node.fileService.transfers.get(sha) ?? null
  })
}
