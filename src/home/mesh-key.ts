// The mesh key: a libp2p pnet pre-shared key. Only nodes holding the same key can connect at all.
// Free of libp2p so `clawlink keygen` stays fast; the node hands `fileBytes` to @libp2p/pnet.
import { createHash, randomBytes, scryptSync } from 'node:crypto'
import { chmodSync, linkSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { readBounded } from './bounded-read.js'
import { InvalidMeshKeyError } from './errors.js'

export const KEY_LENGTH = 32
const HEADER = '/key/swarm/psk/1.0.0/'
const CODEC = '/base16/'
/** A key file is three short lines; anything much longer is not one. */
const MAX_KEY_FILE_SIZE = 4096
/** Fixed salt: the same passphrase must give the same key on every machine. */
const TOKEN_SALT = 'clawlink/mesh-token/v1'
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }
export const MIN_TOKEN_LENGTH = 8

export type MeshKeySource = 'key-file' | 'env-key' | 'token' | 'env-token' | 'home-key' | 'open'

export interface MeshKey {
  /** The raw 32 key bytes; undefined for an open mesh. */
  key?: Uint8Array
  /** The key in pnet's v1 file format, what @libp2p/pnet expects. */
  fileBytes?: Uint8Array
  /** A short, non-secret name for the mesh: safe to print and compare. */
  fingerprint: string
  source: MeshKeySource
  /** Where the key came from, for messages (a path, or an env var name). */
  origin: string
}

export function encodeKeyFile(key: Uint8Array): string {
  return `${HEADER}\n${CODEC}\n${Buffer.from(key).toString('hex')}\n`
}

/** Parses pnet's v1 format (header, codec, 64 hex digits); throws InvalidMeshKeyError. */
export function parseKeyFile(text: string, origin: string): Uint8Array {
  if (text.length > MAX_KEY_FILE_SIZE) {
    throw new InvalidMeshKeyError(`${origin} is not a mesh key: larger than ${MAX_KEY_FILE_SIZE} bytes`)
  }
  const lines = text
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
  // A bare 64-digit hex string is accepted too, for CLAWLINK_KEY.
  const hex = lines.length === 1 ? lines[0] : lines[2]
  if (lines.length !== 1 && (lines.length !== 3 || lines[0] !== HEADER || lines[1] !== CODEC)) {
    throw new InvalidMeshKeyError(
      `${origin} is not a mesh key: expected the lines "${HEADER}", "${CODEC}" and 64 hex digits (make one with: clawlink keygen)`,
    )
  }
  if (hex == null || !/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new InvalidMeshKeyError(
      `${origin} is not a mesh key: the key must be exactly 64 hex digits (32 bytes)`,
    )
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'))
}

export function generateKey(): Uint8Array {
  return Uint8Array.from(randomBytes(KEY_LENGTH))
}

/** Turns a passphrase into a key with scrypt, so v1 users can keep sharing a token. */
export function keyFromToken(token: string): Uint8Array {
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new InvalidMeshKeyError(`the mesh token must be at least ${MIN_TOKEN_LENGTH} characters`)
  }
  if (token.length > 1024) {
    throw new InvalidMeshKeyError('the mesh token must be at most 1024 characters')
  }
  return Uint8Array.from(scryptSync(token, TOKEN_SALT, KEY_LENGTH, SCRYPT))
}

/** sha256 of a domain tag and the key, first 8 bytes as colon-separated hex: names the mesh, reveals nothing. */
export function fingerprint(key: Uint8Array): string {
  const digest = createHash('sha256').update('clawlink/mesh-fingerprint/v1').update(key).digest('hex')
  return (digest.slice(0, 16).match(/.{4}/g) ?? []).join(':')
}

/**
 * Writes a key file with mode 0600. Without `overwrite` it fails with EEXIST if the file exists; the file
 * appears whole (written aside, then hard-linked), so a concurrent reader never sees half a key.
 */
export function writeKeyFile(path: string, key: Uint8Array, overwrite = false): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  writeFileSync(tmp, encodeKeyFile(key), { mode: 0o600, flag: 'wx' })
  try {
    chmodSync(tmp, 0o600)
    if (overwrite) renameSync(tmp, path)
    else linkSync(tmp, path)
  } finally {
    rmSync(tmp, { force: true })
  }
}

export interface ResolveMeshKeyOptions {
  keyFile?: string
  token?: string
  open?: boolean
  env: NodeJS.ProcessEnv
  /** $CLAWLINK_HOME/mesh.key: created on first use. */
  homeKeyPath: string
}

function readKeyFile(path: string): Uint8Array {
  const what = `key file ${path}`
  const bytes = readBounded(path, MAX_KEY_FILE_SIZE, what, (m) => new InvalidMeshKeyError(m))
  return parseKeyFile(bytes.toString('utf8'), what)
}

function meshKey(key: Uint8Array, source: MeshKeySource, origin: string): MeshKey {
  return {
    key,
    fileBytes: new TextEncoder().encode(encodeKeyFile(key)),
    fingerprint: fingerprint(key),
    source,
    origin,
  }
}

/**
 * Finds the mesh key; first found wins: --key-file, CLAWLINK_KEY, --token, CLAWLINK_TOKEN, the home key
 * (created on first use). --open is exclusive with the explicit sources.
 */
export function resolveMeshKey(opts: ResolveMeshKeyOptions): MeshKey {
  const explicit = [opts.keyFile != null, opts.token != null].filter(Boolean).length
  if (opts.open === true) {
    if (explicit > 0) throw new InvalidMeshKeyError('--open cannot be combined with --key-file or --token')
    return { fingerprint: 'open', source: 'open', origin: '--open' }
  }
  if (explicit > 1) throw new InvalidMeshKeyError('give either --key-file or --token, not both')
  if (opts.keyFile != null) return meshKey(readKeyFile(opts.keyFile), 'key-file', opts.keyFile)
  const envKey = opts.env.CLAWLINK_KEY
  if (envKey != null && envKey !== '') {
    return meshKey(parseKeyFile(envKey, 'CLAWLINK_KEY'), 'env-key', 'CLAWLINK_KEY')
  }
  if (opts.token != null) return meshKey(keyFromToken(opts.token), 'token', '--token')
  const envToken = opts.env.CLAWLINK_TOKEN
  if (envToken != null && envToken !== '')
    return meshKey(keyFromToken(envToken), 'env-token', 'CLAWLINK_TOKEN')
  try {
    return meshKey(readKeyFile(opts.homeKeyPath), 'home-key', opts.homeKeyPath)
  } catch (err) {
    if (!(err instanceof InvalidMeshKeyError) || !err.message.endsWith('does not exist')) throw err
  }
  try {
    writeKeyFile(opts.homeKeyPath, generateKey())
  } catch (err) {
    // Another node of this user created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  return meshKey(readKeyFile(opts.homeKeyPath), 'home-key', opts.homeKeyPath)
}
