// The dashboard's request guard: token, cookie, Host and Origin rules, without a browser.
import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import {
  type GuardConfig,
  hostAllowed,
  originAllowed,
  refusal,
  setCookie,
} from '../../src/dashboard/guard.js'

const TOKEN = 'tok-0123456789abcdef0123456789abcdef'
const cfg: GuardConfig = { token: TOKEN, host: '127.0.0.1', port: () => 7780 }

function req(method: string, headers: Record<string, string>): IncomingMessage {
  return { method, headers } as unknown as IncomingMessage
}

describe('dashboard guard', () => {
  it('accepts loopback Host names on its port only (no DNS rebinding)', () => {
    expect(hostAllowed('127.0.0.1:7780', cfg)).toBe(true)
    expect(hostAllowed('localhost:7780', cfg)).toBe(true)
    expect(hostAllowed('[::1]:7780', cfg)).toBe(true)
    expect(hostAllowed('evil.example:7780', cfg)).toBe(false)
    expect(hostAllowed('127.0.0.1:9999', cfg)).toBe(false)
    expect(hostAllowed('', cfg)).toBe(false)
    expect(hostAllowed('lan.host:7780', { ...cfg, host: 'lan.host' })).toBe(true)
  })

  it('takes only its own http origin', () => {
    expect(originAllowed('http://127.0.0.1:7780', cfg)).toBe(true)
    expect(originAllowed('http://evil.example', cfg)).toBe(false)
    expect(originAllowed('https://127.0.0.1:7780', cfg)).toBe(false)
    expect(originAllowed('null', cfg)).toBe(false)
  })

  it('needs the token as cookie or header on reads, and header plus own Origin on changes', () => {
    const host = { host: '127.0.0.1:7780' }
    const origin = 'http://127.0.0.1:7780'
    expect(refusal(req('GET', host), cfg)?.status).toBe(401)
    expect(
      refusal(req('GET', { ...host, cookie: `a=b; ${setCookie(TOKEN, 7780).split(';')[0]}` }), cfg),
    ).toBeUndefined()
    expect(refusal(req('GET', { ...host, 'x-clawlink-token': TOKEN }), cfg)).toBeUndefined()
    expect(refusal(req('GET', host), cfg, TOKEN)).toBeUndefined()
    expect(refusal(req('GET', host), cfg, 'nope')?.status).toBe(401)
    // a cookie alone does not let a POST through: a page of another site could make the browser send it
    const cookie = `clawlink_dashboard_7780=${TOKEN}`
    expect(refusal(req('POST', { ...host, cookie, origin }), cfg)?.status).toBe(401)
    expect(refusal(req('POST', { ...host, 'x-clawlink-token': TOKEN }), cfg)?.status).toBe(403)
    expect(
      refusal(req('POST', { ...host, 'x-clawlink-token': TOKEN, origin: 'http://x.example' }), cfg)?.status,
    ).toBe(403)
    expect(refusal(req('POST', { ...host, 'x-clawlink-token': TOKEN, origin }), cfg)).toBeUndefined()
    expect(refusal(req('GET', { host: 'evil.example:7780', 'x-clawlink-token': TOKEN }), cfg)?.status).toBe(
      403,
    )
  })

  it('sets an HttpOnly SameSite=Strict cookie', () => {
    expect(setCookie(TOKEN, 7780)).toBe(`clawlink_dashboard_7780=${TOKEN}; HttpOnly; SameSite=Strict; Path=/`)
    // another dashboard's cookie (another port) is not this one's
    const other = req('GET', { host: '127.0.0.1:7780', cookie: `clawlink_dashboard_7781=${TOKEN}` })
    expect(refusal(other, cfg)?.status).toBe(401)
  })
})
