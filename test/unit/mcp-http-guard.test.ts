import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { BodyTooLargeError, readBody, refusal } from '../../src/mcp/http-guard.js'
import { isLoopbackHost, parseHostPort } from '../../src/rules/listen.js'

function req(headers: Record<string, string>, body: Buffer[] = []): IncomingMessage {
  const r = Readable.from(body) as unknown as IncomingMessage
  r.headers = headers
  return r
}

const local = { loopback: true, allowedOrigins: [] }

describe('MCP HTTP guard', () => {
  it('on loopback answers only loopback Host names (DNS rebinding)', () => {
    for (const host of ['127.0.0.1:8765', 'localhost:8765', 'LOCALHOST', '[::1]:8765', '127.1.2.3']) {
      expect(refusal(req({ host }), local), host).toBeUndefined()
    }
    for (const host of ['evil.example:8765', '', 'localhost.evil.example', '10.0.0.1:8765', 'a b']) {
      expect(refusal(req({ host }), local), host).toMatchObject({ status: 403 })
    }
    // off loopback the Host is whatever name the LAN uses: the token guards it
    expect(
      refusal(req({ host: 'box.lan:8765', authorization: 'Bearer t' }), {
        ...local,
        loopback: false,
        token: 't',
      }),
    ).toBeUndefined()
  })

  it('lets an absent or loopback Origin through, and configured ones; refuses the rest', () => {
    const host = '127.0.0.1:1'
    for (const origin of ['http://localhost:3000', 'https://127.0.0.1', 'http://[::1]:9']) {
      expect(refusal(req({ host, origin }), local), origin).toBeUndefined()
    }
    for (const origin of ['http://evil.example', 'null', 'file://', 'http://localhost.evil.example']) {
      expect(refusal(req({ host, origin }), local), origin).toMatchObject({ status: 403 })
    }
    const allowed = { ...local, allowedOrigins: ['https://app.example'] }
    expect(refusal(req({ host, origin: 'https://app.example' }), allowed)).toBeUndefined()
    expect(refusal(req({ host, origin: 'https://app.example:444' }), allowed)).toMatchObject({ status: 403 })
  })

  it('requires the exact bearer token when one is set', () => {
    const opts = { ...local, token: 'sixteen-chars-at-least' }
    const host = 'localhost'
    expect(refusal(req({ host, authorization: 'Bearer sixteen-chars-at-least' }), opts)).toBeUndefined()
    for (const authorization of [
      '',
      'Bearer sixteen-chars-at-leas',
      'Basic abc',
      'bearer sixteen-chars-at-least',
    ]) {
      const r = refusal(req({ host, authorization }), opts)
      expect(r, authorization).toMatchObject({ status: 401 })
      expect(r?.headers?.['www-authenticate']).toContain('Bearer')
    }
  })

  it('reads a body up to the bound and refuses a larger one, declared or not', async () => {
    expect((await readBody(req({}, [Buffer.from('{"a":1}')]), 10)).toString()).toBe('{"a":1}')
    await expect(readBody(req({ 'content-length': '11' }), 10)).rejects.toBeInstanceOf(BodyTooLargeError)
    const chunks = [Buffer.alloc(6), Buffer.alloc(6)]
    await expect(readBody(req({}, chunks), 10)).rejects.toThrow('over 10 bytes')
  })
})

describe('[HOST:]PORT', () => {
  it('parses ports, hosts and IPv6, and names the option in errors', () => {
    expect(parseHostPort('8765', '--http', '127.0.0.1')).toEqual({ host: '127.0.0.1', port: 8765 })
    expect(parseHostPort('0.0.0.0:0', '--http', '127.0.0.1')).toEqual({ host: '0.0.0.0', port: 0 })
    expect(parseHostPort('[::1]:80', '--http', '127.0.0.1')).toEqual({ host: '::1', port: 80 })
    expect(() => parseHostPort('x:99999', '--http', '127.0.0.1')).toThrow('--http expects [HOST:]PORT')
    expect(() => parseHostPort('bad host:1', '--http', '127.0.0.1')).toThrow('--http: invalid host')
  })

  it('knows loopback hosts', () => {
    expect(['localhost', '127.0.0.1', '127.9.9.9', '::1', '[::1]'].map(isLoopbackHost)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ])
    expect(['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1'].map(isLoopbackHost)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ])
  })
})
