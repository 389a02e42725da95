import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKey as pnetGenerateKey, preSharedKey } from '@libp2p/pnet'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { InvalidMeshKeyError } from '../../src/home/errors.js'
import {
  encodeKeyFile,
  fingerprint,
  generateKey,
  KEY_LENGTH,
  keyFromToken,
  parseKeyFile,
  resolveMeshKey,
  writeKeyFile,
} from '../../src/home/mesh-key.js'

const HEX = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff'
const HEX_BYTES = Uint8Array.from(Buffer.from(HEX, 'hex'))
const V1 = `/key/swarm/psk/1.0.0/\n/base16/\n${HEX}\n`

function keyOf(byte: number): Uint8Array {
  return new Uint8Array(KEY_LENGTH).fill(byte)
}

/** The key @libp2p/pnet itself decodes from a key file (its protector keeps it in `psk`). */
function pnetDecode(fileBytes: Uint8Array): Uint8Array {
  const protector = preSharedKey({ psk: fileBytes })() as unknown as { psk: Uint8Array }
  return protector.psk
}

function mode(path: string): number {
  return statSync(path).mode & 0o777
}

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawlink-meshkey-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe('parseKeyFile', () => {
  it('parses a v1 key file', () => {
    expect(parseKeyFile(V1, 'test')).toEqual(HEX_BYTES)
  })

  it('parses a file without the trailing newline', () => {
    expect(parseKeyFile(V1.trimEnd(), 'test')).toEqual(HEX_BYTES)
  })

  it('accepts a bare 64-digit hex key, in either case, with surrounding whitespace', () => {
    expect(parseKeyFile(HEX, 'test')).toEqual(HEX_BYTES)
    expect(parseKeyFile(`  ${HEX.toUpperCase()}\n`, 'test')).toEqual(HEX_BYTES)
  })

  it('accepts CRLF line endings', () => {
    expect(parseKeyFile(V1.replaceAll('\n', '\r\n'), 'test')).toEqual(HEX_BYTES)
  })

  it('rejects a wrong header, naming the origin', () => {
    const text = `/key/swarm/psk/2.0.0/\n/base16/\n${HEX}\n`
    expect(() => parseKeyFile(text, 'key file /x/y')).toThrow(InvalidMeshKeyError)
    expect(() => parseKeyFile(text, 'key file /x/y')).toThrow(/^key file \/x\/y is not a mesh key/)
  })

  it('rejects a wrong codec', () => {
    expect(() => parseKeyFile(`/key/swarm/psk/1.0.0/\n/base64/\n${HEX}\n`, 'test')).toThrow(
      InvalidMeshKeyError,
    )
  })

  it('rejects a file with a missing or an extra line', () => {
    expect(() => parseKeyFile(`/key/swarm/psk/1.0.0/\n${HEX}\n`, 'test')).toThrow(InvalidMeshKeyError)
    expect(() => parseKeyFile(`${V1}${HEX}\n`, 'test')).toThrow(InvalidMeshKeyError)
  })

  it('rejects an empty file', () => {
    expect(() => parseKeyFile('', 'test')).toThrow(InvalidMeshKeyError)
    expect(() => parseKeyFile('\n\n', 'test')).toThrow(InvalidMeshKeyError)
  })

  it.each([
    ['short', HEX.slice(0, 62)],
    ['long', `${HEX}00`],
    ['non-hex', `${HEX.slice(0, 63)}g`],
    ['odd length', HEX.slice(0, 63)],
    ['internal space', `${HEX.slice(0, 32)} ${HEX.slice(32)}`],
  ])('rejects a %s key, bare and in a v1 file', (_label, hex) => {
    expect(() => parseKeyFile(hex, 'test')).toThrow(/64 hex digits/)
    expect(() => parseKeyFile(`/key/swarm/psk/1.0.0/\n/base16/\n${hex}\n`, 'test')).toThrow(/64 hex digits/)
  })

  it('rejects an oversized file before looking at its content', () => {
    // A valid key followed by a lot of blank lines: only the size can make this fail.
    const text = `${V1}${'\n'.repeat(5000)}`
    expect(() => parseKeyFile(text, 'test')).toThrow(/larger than 4096 bytes/)
    // The same key with just a few blank lines is fine.
    expect(parseKeyFile(`${V1}\n\n\n`, 'test')).toEqual(HEX_BYTES)
  })
})

describe('encodeKeyFile', () => {
  it('writes pnet v1 format: header, codec, lowercase hex, newline', () => {
    expect(encodeKeyFile(HEX_BYTES)).toBe(V1)
    expect(encodeKeyFile(HEX_BYTES).startsWith('/key/swarm/psk/1.0.0/\n/base16/\n')).toBe(true)
  })

  it('round-trips through parseKeyFile', () => {
    for (let i = 0; i < 5; i++) {
      const key = generateKey()
      expect(key.byteLength).toBe(KEY_LENGTH)
      expect(parseKeyFile(encodeKeyFile(key), 'test')).toEqual(key)
    }
  })

  it('is what @libp2p/pnet decodes to the same key', () => {
    const key = generateKey()
    expect(pnetDecode(new TextEncoder().encode(encodeKeyFile(key)))).toEqual(key)
    // Sanity check of the helper: pnet refuses what is not a key.
    expect(() => pnetDecode(new TextEncoder().encode('/key/swarm/psk/1.0.0/\n/base16/\nabcd\n'))).toThrow()
  })

  it('parses keys made by @libp2p/pnet generateKey', () => {
    const bytes = new Uint8Array(95)
    pnetGenerateKey(bytes)
    const text = new TextDecoder().decode(bytes)
    expect(text.startsWith('/key/swarm/psk/1.0.0/\n/base16/\n')).toBe(true)
    expect(parseKeyFile(text, 'pnet')).toEqual(pnetDecode(bytes))
  })
})

describe('keyFromToken', () => {
  it('is deterministic and 32 bytes long', () => {
    const a = keyFromToken('correct horse battery staple')
    const b = keyFromToken('correct horse battery staple')
    expect(a.byteLength).toBe(KEY_LENGTH)
    expect(a).toEqual(b)
  })

  it('gives different keys for different tokens', () => {
    expect(keyFromToken('token-number-1')).not.toEqual(keyFromToken('token-number-2'))
  })

  it('accepts a token of exactly the minimum and maximum length', () => {
    expect(keyFromToken('12345678').byteLength).toBe(KEY_LENGTH)
    expect(keyFromToken('x'.repeat(1024)).byteLength).toBe(KEY_LENGTH)
  })

  it('rejects a token shorter than 8 characters', () => {
    expect(() => keyFromToken('1234567')).toThrow(InvalidMeshKeyError)
    expect(() => keyFromToken('')).toThrow(/at least 8 characters/)
  })

  it('rejects a token longer than 1024 characters', () => {
    expect(() => keyFromToken('x'.repeat(1025))).toThrow(/at most 1024 characters/)
  })
})

describe('fingerprint', () => {
  it('is stable for a key and differs between keys', () => {
    const key = keyOf(7)
    expect(fingerprint(key)).toBe(fingerprint(Uint8Array.from(key)))
    expect(fingerprint(key)).not.toBe(fingerprint(keyOf(8)))
  })

  it('is four groups of four hex digits', () => {
    expect(fingerprint(generateKey())).toMatch(/^[0-9a-f]{4}(:[0-9a-f]{4}){3}$/)
  })

  it('does not contain the key hex', () => {
    for (let i = 0; i < 20; i++) {
      const key = generateKey()
      const hex = Buffer.from(key).toString('hex')
      const fp = fingerprint(key).replaceAll(':', '')
      expect(hex).not.toContain(fp)
      expect(hex.slice(0, 16)).not.toBe(fp)
    }
  })
})

describe('writeKeyFile', () => {
  it('writes a v1 file with mode 0600 in a new private directory', () => {
    const path = join(dir, 'sub', 'mesh.key')
    const key = generateKey()
    writeKeyFile(path, key)
    expect(readFileSync(path, 'utf8')).toBe(encodeKeyFile(key))
    expect(mode(path)).toBe(0o600)
    expect(mode(join(dir, 'sub'))).toBe(0o700)
  })

  it('refuses to overwrite an existing file without overwrite=true', () => {
    const path = join(dir, 'mesh.key')
    writeKeyFile(path, keyOf(1))
    let error: unknown
    try {
      writeKeyFile(path, keyOf(2))
    } catch (err) {
      error = err
    }
    expect((error as NodeJS.ErrnoException | undefined)?.code).toBe('EEXIST')
    expect(parseKeyFile(readFileSync(path, 'utf8'), 'test')).toEqual(keyOf(1))
  })

  it('overwrites with overwrite=true and keeps mode 0600', () => {
    const path = join(dir, 'mesh.key')
    writeFileSync(path, 'old', { mode: 0o644 })
    writeKeyFile(path, keyOf(3), true)
    expect(parseKeyFile(readFileSync(path, 'utf8'), 'test')).toEqual(keyOf(3))
    expect(mode(path)).toBe(0o600)
  })

  it('leaves no temporary files behind', () => {
    const path = join(dir, 'mesh.key')
    writeKeyFile(path, keyOf(1))
    expect(() => writeKeyFile(path, keyOf(2))).toThrow()
    writeKeyFile(path, keyOf(3), true)
    expect(readdirSync(dir)).toEqual(['mesh.key'])
  })
})

describe('resolveMeshKey', () => {
  const TOKEN = 'the-flag-token'
  const ENV_TOKEN = 'the-env-token'

  function setup() {
    const keyFile = join(dir, 'explicit.key')
    writeKeyFile(keyFile, keyOf(1))
    const homeKeyPath = join(dir, 'home', 'mesh.key')
    writeKeyFile(homeKeyPath, keyOf(5))
    return { keyFile, homeKeyPath, envKey: Buffer.from(keyOf(2)).toString('hex') }
  }

  it('prefers --key-file over everything else', () => {
    const { keyFile, homeKeyPath, envKey } = setup()
    const mk = resolveMeshKey({
      keyFile,
      env: { CLAWLINK_KEY: envKey, CLAWLINK_TOKEN: ENV_TOKEN },
      homeKeyPath,
    })
    expect(mk.source).toBe('key-file')
    expect(mk.origin).toBe(keyFile)
    expect(mk.key).toEqual(keyOf(1))
  })

  it('then CLAWLINK_KEY, over --token', () => {
    const { homeKeyPath, envKey } = setup()
    const mk = resolveMeshKey({
      token: TOKEN,
      env: { CLAWLINK_KEY: envKey, CLAWLINK_TOKEN: ENV_TOKEN },
      homeKeyPath,
    })
    expect(mk.source).toBe('env-key')
    expect(mk.origin).toBe('CLAWLINK_KEY')
    expect(mk.key).toEqual(keyOf(2))
  })

  it('CLAWLINK_KEY may be a whole v1 file', () => {
    const { homeKeyPath } = setup()
    const mk = resolveMeshKey({ env: { CLAWLINK_KEY: encodeKeyFile(keyOf(9)) }, homeKeyPath })
    expect(mk.key).toEqual(keyOf(9))
  })

  it('then --token, over CLAWLINK_TOKEN', () => {
    const { homeKeyPath } = setup()
    const mk = resolveMeshKey({ token: TOKEN, env: { CLAWLINK_TOKEN: ENV_TOKEN }, homeKeyPath })
    expect(mk.source).toBe('token')
    expect(mk.key).toEqual(keyFromToken(TOKEN))
  })

  it('then CLAWLINK_TOKEN, over the home key', () => {
    const { homeKeyPath } = setup()
    const mk = resolveMeshKey({ env: { CLAWLINK_TOKEN: ENV_TOKEN }, homeKeyPath })
    expect(mk.source).toBe('env-token')
    expect(mk.origin).toBe('CLAWLINK_TOKEN')
    expect(mk.key).toEqual(keyFromToken(ENV_TOKEN))
  })

  it('then the home key; empty env vars count as unset', () => {
    const { homeKeyPath } = setup()
    const mk = resolveMeshKey({ env: { CLAWLINK_KEY: '', CLAWLINK_TOKEN: '' }, homeKeyPath })
    expect(mk.source).toBe('home-key')
    expect(mk.origin).toBe(homeKeyPath)
    expect(mk.key).toEqual(keyOf(5))
  })

  it('fills in fileBytes in pnet format and the fingerprint of the key', () => {
    const { keyFile, homeKeyPath } = setup()
    const mk = resolveMeshKey({ keyFile, env: {}, homeKeyPath })
    expect(mk.fingerprint).toBe(fingerprint(keyOf(1)))
    expect(new TextDecoder().decode(mk.fileBytes)).toBe(encodeKeyFile(keyOf(1)))
    expect(pnetDecode(mk.fileBytes!)).toEqual(keyOf(1))
  })

  it('creates the home key on first use with mode 0600 and reuses it', () => {
    const homeKeyPath = join(dir, 'home', 'mesh.key')
    expect(existsSync(homeKeyPath)).toBe(false)
    const first = resolveMeshKey({ env: {}, homeKeyPath })
    expect(first.source).toBe('home-key')
    expect(existsSync(homeKeyPath)).toBe(true)
    expect(mode(homeKeyPath)).toBe(0o600)
    expect(first.key?.byteLength).toBe(KEY_LENGTH)
    const second = resolveMeshKey({ env: {}, homeKeyPath })
    expect(second.fingerprint).toBe(first.fingerprint)
    expect(second.key).toEqual(first.key)
  })

  it('refuses a corrupt home key instead of replacing it', () => {
    const homeKeyPath = join(dir, 'mesh.key')
    writeFileSync(homeKeyPath, 'not a key\n')
    expect(() => resolveMeshKey({ env: {}, homeKeyPath })).toThrow(InvalidMeshKeyError)
    expect(readFileSync(homeKeyPath, 'utf8')).toBe('not a key\n')
  })

  it('--open gives an open mesh without a key and without creating the home key', () => {
    const homeKeyPath = join(dir, 'home', 'mesh.key')
    const mk = resolveMeshKey({ open: true, env: { CLAWLINK_KEY: HEX }, homeKeyPath })
    expect(mk.source).toBe('open')
    expect(mk.fingerprint).toBe('open')
    expect(mk.key).toBeUndefined()
    expect(mk.fileBytes).toBeUndefined()
    expect(existsSync(homeKeyPath)).toBe(false)
  })

  it('--open refuses --key-file or --token', () => {
    const homeKeyPath = join(dir, 'mesh.key')
    const keyFile = join(dir, 'k.key')
    writeKeyFile(keyFile, keyOf(1))
    expect(() => resolveMeshKey({ open: true, keyFile, env: {}, homeKeyPath })).toThrow(/--open cannot/)
    expect(() => resolveMeshKey({ open: true, token: TOKEN, env: {}, homeKeyPath })).toThrow(
      InvalidMeshKeyError,
    )
  })

  it('refuses --key-file together with --token', () => {
    const { keyFile, homeKeyPath } = setup()
    expect(() => resolveMeshKey({ keyFile, token: TOKEN, env: {}, homeKeyPath })).toThrow(
      /either --key-file or --token, not both/,
    )
  })

  it('reports a missing key file clearly', () => {
    const homeKeyPath = join(dir, 'mesh.key')
    const keyFile = join(dir, 'nope.key')
    let error: unknown
    try {
      resolveMeshKey({ keyFile, env: {}, homeKeyPath })
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(InvalidMeshKeyError)
    expect((error as Error).message).toBe(`key file ${keyFile} does not exist`)
    // It must not fall back to another source.
    expect(existsSync(homeKeyPath)).toBe(false)
  })

  it('reports an unreadable key file (a directory) with its path', () => {
    const homeKeyPath = join(dir, 'mesh.key')
    expect(() => resolveMeshKey({ keyFile: dir, env: {}, homeKeyPath })).toThrow(
      new RegExp(`cannot read key file ${dir}`),
    )
  })

  it('names CLAWLINK_KEY when it is not a key', () => {
    const homeKeyPath = join(dir, 'mesh.key')
    expect(() => resolveMeshKey({ env: { CLAWLINK_KEY: 'abc123' }, homeKeyPath })).toThrow(
      /^CLAWLINK_KEY is not a mesh key/,
    )
    expect(existsSync(homeKeyPath)).toBe(false)
  })

  it('rejects a too short token from --token or CLAWLINK_TOKEN', () => {
    const homeKeyPath = join(dir, 'mesh.key')
    expect(() => resolveMeshKey({ token: 'short', env: {}, homeKeyPath })).toThrow(InvalidMeshKeyError)
    expect(() => resolveMeshKey({ env: { CLAWLINK_TOKEN: 'short' }, homeKeyPath })).toThrow(
      InvalidMeshKeyError,
    )
  })
})
