// A v1 client as v1 agents talk to a node's `--v1-api`: raw HTTP JSON, no library of ours.
import { eventually, type NodeProcess } from './cli.js'

// biome-ignore lint/suspicious/noExplicitAny: v1 JSON is read loosely, as a v1 client reads it
export type Msg = Record<string, any>

export interface V1Client {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Msg }>
  register(agentId: string, name: string): Promise<{ status: number; body: Msg }>
  /** Polls until a message for `agentId` matching `pick` arrives; others polled meanwhile stay for later picks. */
  pollFor(agentId: string, pick: (m: Msg) => boolean, timeout?: number): Promise<Msg>
}

/** The v1 API of a node process (from its `v1_api_listening` log event). */
export function v1Client(p: NodeProcess): V1Client {
  const e = p.events.find((x) => x.event === 'v1_api_listening')
  if (e == null) throw new Error('no v1_api_listening event')
  const base = e.url as string
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: res.status, body: (await res.json()) as Msg }
  }
  const queue: Msg[] = []
  return {
    call,
    register: (agentId, name) =>
      call('POST', '/register', { agent_id: agentId, name, capabilities: ['review'], machine: 'm' }),
    pollFor: (agentId, pick, timeout = 20_000) =>
      eventually(async () => {
        const r = await call('GET', `/poll/${agentId}`)
        queue.push(...(r.body.messages as Msg[]).map((m) => ({ ...m, _to: agentId })))
        const at = queue.findIndex((m) => m._to === agentId && pick(m))
        return at < 0 ? undefined : queue.splice(at, 1)[0]
      }, timeout),
  }
}
