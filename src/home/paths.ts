// Where ClawLink keeps things on disk. Shared by the node and the CLI, so it must stay free of libp2p.
import { createHash } from 'node:crypto'
import { homedir, tmpdir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'

/** Longest Unix socket path we create; the kernel limit is 108 bytes including the NUL. */
const MAX_SOCKET_PATH = 100

export function clawlinkHome(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.CLAWLINK_HOME
  return resolve(home != null && home !== '' ? home : join(homedir(), '.clawlink'))
}

export function agentsDir(home: string): string {
  return join(home, 'agents')
}

/** Registration files of running nodes, one per node, so the CLI finds nodes with any data dir. */
export function runDir(home: string): string {
  return join(home, 'run')
}

export function defaultDataDir(home: string, name: string): string {
  return join(agentsDir(home), name)
}

export function defaultMeshKeyPath(home: string): string {
  return join(home, 'mesh.key')
}

export interface DataDirPaths {
  root: string
  identity: string
  lock: string
  store: string
  blobs: string
  control: string
  socket: string
}

/**
 * Where a data dir's control socket goes when the data dir path is too long for one: the per-user
 * $XDG_RUNTIME_DIR (private by design) when set, else a per-user folder in the tmp dir. Both are checked
 * to be ours alone before use (see private-dir.ts): another user could create the tmp one first.
 */
export function socketFallbackDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR
  if (xdg != null && isAbsolute(xdg)) return join(xdg, 'clawlink')
  return join(tmpdir(), `clawlink-${process.getuid?.() ?? 'u'}`)
}

export function dataDirPaths(dataDir: string, env: NodeJS.ProcessEnv = process.env): DataDirPaths {
  const root = resolve(dataDir)
  let socket = join(root, 'control.sock')
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    // Deep data dirs would overflow sun_path; fall back to a short per-user path keyed by the dir.
    const digest = createHash('sha256').update(root).digest('hex').slice(0, 16)
    const fallback = join(socketFallbackDir(env), `${digest}.sock`)
    // a very long XDG_RUNTIME_DIR would overflow too: then the tmp dir it is
    socket =
      Buffer.byteLength(fallback) <= MAX_SOCKET_PATH
        ? fallback
        : join(socketFallbackDir({}), `${digest}.sock`)
  }
  return {
    root,
    identity: join(root, 'identity.key'),
    lock: join(root, 'node.lock'),
    store: join(root, 'store.db'),
    blobs: join(root, 'blobs'),
    control: join(root, 'control.json'),
    socket,
  }
}

/** The registration file name of a node in the run dir. */
export function runFileName(dataDir: string): string {
  return `${createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 16)}.json`
}
