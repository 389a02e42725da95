// The rules of the shared file map: what this node stores from others (and tells its agent), what a
// put may share (never the node's keys or private state without force), and reading any version.
import { extname } from 'node:path'
import { dataDirPaths } from '../home/paths.js'
import {
  FileError,
  type KeyState,
  type StoredEntry,
  stateOf,
  type VerifiedEntry,
  validateKey,
  validateMediaType,
} from '../protocols/files/index.js'
import { hasReservedMediaParam, RESERVED_MEDIA_PARAM } from '../rules/limits.js'
import type { NodeContext } from './context.js'
import type { NewEvent } from './inbox.js'
import { protectedReason } from './protected-paths.js'

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

/** A put the node refuses: the file is one of its keys or private state (file-put --force overrides). */
export class ProtectedPathError extends Error {
  readonly code = 'protected'
  constructor(message: string) {
    super(message)
    this.name = 'ProtectedPathError'
  }
}

export interface PutRequest {
  key: string
  /** an absolute path on this host */
  path: string
  base?: number
  type?: string
  force?: boolean
}

export class FileService {
  /** blob transfers in progress: sha256 → bytes received, size (for progress bars) */
  readonly transfers = new Map<string, { received: number; size: number }>()

  constructor(private readonly node: NodeContext) {}

  /** Follows blob transfers for `progress`; call before the network starts. */
  wire(): void {
    const { files } = this.node
    files.addEventListener('blob:fetched', ({ detail }) => this.transfers.delete(detail.sha256))
    files.addEventListener('blob:progress', ({ detail }) => {
      this.transfers.set(detail.sha256, { received: detail.received, size: detail.size })
    })
  }

  /**
   * Stores a file entry; when it changes a key's winner, the agent's event goes with it (for this
   * node's own writes, only to its hosted agents).
   */
  accept(
    entry: VerifiedEntry,
    via: 'own' | 'live' | 'sync',
    apply: () => { before?: KeyState; after?: KeyState },
  ): boolean {
    const { node } = this
    let changed: KeyState | undefined
    const isNew = node.store.transaction(() => {
      if (!node.fileStore.put(entry)) return false
      const { before, after } = apply()
      if (after != null && (before?.winner.id !== after.winner.id || before?.conflict !== after.conflict)) {
        changed = after
        const w = after.winner
        const event: NewEvent = {
          type: 'file_updated',
          id: w.id,
          from: { id: w.author, name: node.authorName(w.author) },
          to: { id: node.peerId.toString(), name: node.localCard().name },
          priority: 'normal',
          key: w.key,
          version: w.version,
          size: w.size,
          deleted: w.deleted,
          conflict: after.conflict,
          timestamp: new Date(w.time).toISOString(),
        }
        // our own write is news to this node's hosted agents only
        if (via === 'own') node.mailbox.shareOwn(event)
        else node.mailbox.append(event)
      }
      return true
    })
    if (changed != null && via !== 'own') {
      const w = changed.winner
      node.log.emit(
        'file_updated',
        {
          key: w.key,
          version: w.version,
          author: w.author,
          size: w.size,
          deleted: w.deleted,
          conflict: changed.conflict,
          via,
        },
        `${w.key} is now version ${w.version} by ${node.authorName(w.author)}${w.deleted ? ' (deleted)' : ` (${w.size} bytes)`}${changed.conflict ? '; CONFLICT: a concurrent write is kept in its history' : ''}`,
        changed.conflict ? 'warn' : 'info',
      )
    }
    return isNew
  }

  /** Shares the file at `path` under `key` and returns the key's new state. */
  async put(r: PutRequest): Promise<KeyState> {
    const { node } = this
    validateKey(r.key)
    if (r.force !== true) this.refuseProtected(r.path)
    const type = r.type ?? MEDIA_TYPES[extname(r.key).toLowerCase()] ?? 'application/octet-stream'
    validateMediaType(type)
    if (hasReservedMediaParam(type))
      throw new FileError(
        'invalid',
        `the media type parameter ${RESERVED_MEDIA_PARAM} is reserved: it could pose as another agent (the v1 API records a version's editor itself)`,
      )
    // fail fast on a stale base before copying a large file in
    node.files.checkBase(r.key, r.base)
    const { sha256, size } = await node.blobStore.importFile(r.path, node.files.maxFileSize)
    await node.files.write(r.key, { sha256, size, mediaType: type }, r.base)
    return node.files.state(r.key)!
  }

  async remove(key: string, base?: number): Promise<KeyState> {
    validateKey(key)
    await this.node.files.write(key, 'delete', base)
    return this.node.files.state(key)!
  }

  /** A version (the winner by default) with its content on this node, fetched from a peer if need be. */
  async get(
    key: string,
    version?: number,
  ): Promise<{ entry: StoredEntry; winner: StoredEntry; path: string }> {
    const { node } = this
    validateKey(key)
    const history = node.fileStore.history(key)
    const state = stateOf(key, history)
    if (state == null) throw new FileError('not_found', `no file ${key}`)
    const entry = version == null ? state.winner : history.find((e) => e.version === version)
    if (entry == null) {
      throw new FileError(
        'not_found',
        `${key} has no version ${version} (kept: ${history.map((e) => e.version).join(', ')})`,
      )
    }
    if (entry.deleted) throw new FileError('not_found', `${key} was deleted in version ${entry.version}`)
    const blob = await node.files.ensureBlob(entry.sha256, entry.size, entry.author)
    if (!blob.ok) {
      throw new FileError(
        'unavailable',
        `the content of ${key} version ${entry.version} is not on this node and ${blob.reason}`,
      )
    }
    return { entry, winner: state.winner, path: node.blobStore.path(entry.sha256) }
  }

  list(prefix: string, all: boolean): KeyState[] {
    return this.node.fileStore.list(prefix).filter((s) => all || !s.winner.deleted)
  }

  history(key: string): { history: StoredEntry[]; winner: StoredEntry } {
    validateKey(key)
    const history = this.node.fileStore.history(key)
    const state = stateOf(key, history)
    if (state == null) throw new FileError('not_found', `no file ${key}`)
    return { history, winner: state.winner }
  }

  /** Every member could read what is put: the node's keys and private state need force. */
  private refuseProtected(path: string): void {
    const { options, meshKey } = this.node
    const meshKeyFile =
      meshKey.source === 'key-file' || meshKey.source === 'home-key' ? meshKey.origin : undefined
    const why = protectedReason(path, {
      identityKey: dataDirPaths(options.dataDir).identity,
      meshKey: meshKeyFile,
      dataDir: options.dataDir,
      home: options.home,
    })
    if (why != null)
      throw new ProtectedPathError(
        `refusing to share ${path}: it is ${why}, and every mesh member could read it (only a person can share it anyway, with the command clawlink file-put --force)`,
      )
  }
}
