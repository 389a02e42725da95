// Control API endpoints of the A2A bridge's outbound side: external A2A agents registered with this
// node (`clawlink a2a add/list/remove`); the rules are core's A2aOutbound.
import type { A2aAddRequest } from '../../api/a2a-outbound.js'
import { A2aBridgeError, type ClawLinkNode } from '../../core/index.js'
import { ApiError, type ControlServer } from '../server.js'

const STATUS: Record<A2aBridgeError['code'], number> = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  unreachable: 502,
}

function fields(body: unknown, allowed: string[]): Record<string, unknown> {
  if (body == null || typeof body !== 'object' || Array.isArray(body))
    throw new ApiError(400, 'bad_request', 'expected a JSON object')
  const b = body as Record<string, unknown>
  for (const key of Object.keys(b))
    if (!allowed.includes(key)) throw new ApiError(400, 'bad_request', `unknown field ${key}`)
  for (const [key, v] of Object.entries(b))
    if (v != null && typeof v !== 'string') throw new ApiError(400, 'bad_request', `${key} must be a string`)
  return b
}

function required(b: Record<string, unknown>, key: string): string {
  const v = b[key]
  if (typeof v !== 'string' || v === '') throw new ApiError(400, 'bad_request', `${key} is required`)
  return v
}

async function guard<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof A2aBridgeError) throw new ApiError(STATUS[err.code], err.code, err.message)
    throw err
  }
}

export function registerA2aRoutes(server: ControlServer, node: ClawLinkNode): void {
  server.route('GET', '/v1/a2a/agents', () => node.a2a.list())

  server.route('POST', '/v1/a2a/agents', (req) =>
    guard(() => {
      const b = fields(req.body, ['name', 'url', 'tokenEnv'])
      const r: A2aAddRequest = {
        name: required(b, 'name'),
        url: required(b, 'url'),
        tokenEnv: (b.tokenEnv as string | undefined) ?? undefined,
      }
      return node.a2a.add(r.name, r.url, r.tokenEnv ?? null)
    }),
  )

  server.route('POST', '/v1/a2a/remove', (req) =>
    guard(() => node.a2a.remove(required(fields(req.body, ['name']), 'name'))),
  )
}
