// Who may talk to the dashboard: the per-run token (in the URL once, then an HttpOnly SameSite=Strict
// cookie; a header on API calls), a Host that names this server (no DNS rebinding) and, on every request
// that changes something, an Origin that is this server (no cross-site request forgery).
import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { isLoopbackHost, splitHostHeader } from '../rules/listen.js'
import { sameSecret } from '../rules/secret.js'

/** Cookies are not kept apart by port: each dashboard's cookie is named after its port. */
export function cookieName(port: number): string {
  return `clawlink_dashboard_${port}`
}
export const TOKEN_HEADER = 'x-clawlink-token'

/** 32 random bytes: the token is the only secret between the browser and the dashboard. */
export function newToken(): string {
  return randomBytes(32).toString('base64url')
}

/** The page loads only its own bundled assets; mesh data is never markup, so nothing inline is needed. */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
}

export interface GuardConfig {
  token: string
  /** the host the server was told to listen on */
  host: string
  /** the port it listens on (known once it does) */
  port(): number
}

export interface Refusal {
  status: number
  message: string
}

function cookieToken(req: IncomingMessage, port: number): string | undefined {
  const name = cookieName(port)
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=')
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim()
  }
  return undefined
}

const WILDCARD = ['0.0.0.0', '::', '']

/** Whether a Host header names this server: loopback names, or the host it was told to listen on. */
export function hostAllowed(header: string | undefined, cfg: GuardConfig): boolean {
  const h = splitHostHeader(header ?? '')
  if (h == null || (h.port != null && h.port !== cfg.port())) return false
  if (isLoopbackHost(h.name)) return true
  const bound = cfg.host.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  // bound to every interface: any address of this machine may be used; the token still decides
  return h.name === bound || WILDCARD.includes(bound)
}

/** An Origin is this server's when it is http:// plus a Host this server accepts. */
export function originAllowed(origin: string, cfg: GuardConfig): boolean {
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return false
  }
  if (url.protocol !== 'http:' || url.pathname !== '/' || origin.endsWith('/')) return false
  return hostAllowed(url.host, cfg)
}

/** True when the request carries the token, as the cookie or the header. */
export function hasToken(req: IncomingMessage, cfg: GuardConfig): boolean {
  const header = req.headers[TOKEN_HEADER]
  return (
    sameSecret(cookieToken(req, cfg.port()), cfg.token) ||
    sameSecret(typeof header === 'string' ? header : undefined, cfg.token)
  )
}

const SAFE_METHODS = ['GET', 'HEAD']

/**
 * Why a request is refused, or undefined. `tokenInUrl`: the request brought the token in its query
 * (the first page load); it is checked here like a cookie.
 */
export function refusal(req: IncomingMessage, cfg: GuardConfig, tokenInUrl?: string): Refusal | undefined {
  if (!hostAllowed(req.headers.host, cfg))
    return { status: 403, message: 'the Host header does not name this dashboard' }
  const origin = req.headers.origin
  const mutating = !SAFE_METHODS.includes(req.method ?? 'GET')
  if (origin != null && !originAllowed(origin, cfg))
    return { status: 403, message: 'requests from another site are refused' }
  if (mutating) {
    // a browser always sends Origin on a POST; a form or a script of another site cannot forge it
    if (origin == null) return { status: 403, message: 'a request that changes something needs an Origin' }
    const header = req.headers[TOKEN_HEADER]
    if (!sameSecret(typeof header === 'string' ? header : undefined, cfg.token))
      return { status: 401, message: `a request that changes something needs the ${TOKEN_HEADER} header` }
    return undefined
  }
  if (tokenInUrl != null && sameSecret(tokenInUrl, cfg.token)) return undefined
  if (!hasToken(req, cfg))
    return { status: 401, message: 'open the dashboard with the URL it printed (it carries the token)' }
  return undefined
}

export function setCookie(token: string, port: number): string {
  return `${cookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`
}
