// The node's libp2p private key, kept in its data dir so the PeerId survives restarts.
import { chmodSync, linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { ConfigError } from '../home/errors.js'

export async function loadOrCreateIdentity(path: string): Promise<{ key: PrivateKey; created: boolean }> {
  let bytes: Buffer | undefined
  try {
    bytes = readFileSync(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError(`cannot read identity ${path}: ${(err as Error).message}`)
    }
  }
  if (bytes != null) {
    try {
      return { key: privateKeyFromProtobuf(bytes), created: false }
    } catch {
      // Never silently replace an identity: peers know this node by it.
      throw new ConfigError(`identity ${path} is corrupt; move it away to start this node with a new PeerId`)
    }
  }
  const key = await generateKeyPair('Ed25519')
  // Write aside and link into place, so a crash never leaves a half-written identity behind.
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, privateKeyToProtobuf(key), { mode: 0o600 })
  chmodSync(tmp, 0o600)
  try {
    linkSync(tmp, path)
  } finally {
    rmSync(tmp, { force: true })
  }
  return { key, created: true }
}
