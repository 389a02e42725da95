// The A2A side of the bridge: the official SDK's client (loaded on first use, so a node that bridges
// nothing never loads it), with the bearer token read from the node's environment at each request.
import type { AgentCard } from '@a2a-js/sdk'
import type { Client } from '@a2a-js/sdk/client'
import { A2aBridgeError } from './errors.js'

type Sdk = typeof import('@a2a-js/sdk/client')
let sdk: Promise<Sdk> | undefined
const load = (): Promise<Sdk> => {
  sdk ??= import('@a2a-js/sdk/client')
  return sdk
}

/** A fetch that adds `Authorization: Bearer $VAR`, reading VAR when each request goes out. */
export function authFetch(tokenEnv: string | null, env: NodeJS.ProcessEnv = process.env): typeof fetch {
  if (tokenEnv == null) return fetch
  return (input, init) => {
    const token = env[tokenEnv]
    if (token == null || token === '')
      return Promise.reject(new A2aBridgeError('invalid', `the environment variable ${tokenEnv} is not set`))
    const headers = new Headers(init?.headers)
    headers.set('authorization', `Bearer ${token}`)
    return fetch(input, { ...init, headers })
  }
}

async function factory(tokenEnv: string | null) {
  const {
    ClientFactory,
    ClientFactoryOptions,
    DefaultAgentCardResolver,
    JsonRpcTransportFactory,
    RestTransportFactory,
  } = await load()
  const fetchImpl = authFetch(tokenEnv)
  return new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl }), new RestTransportFactory({ fetchImpl })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
    }),
  )
}

/** Fetches an agent's card: URL is its base (the card at /.well-known/agent-card.json) or the card's own URL. */
export async function fetchCard(url: string, tokenEnv: string | null): Promise<AgentCard> {
  const f = await factory(tokenEnv)
  const asCard = new URL(url).pathname.endsWith('.json')
  const client = await f.createFromUrl(url, asCard ? '' : undefined)
  return client.getAgentCard()
}

/** A client for a registered agent, from its stored card. */
export async function clientFor(card: AgentCard, tokenEnv: string | null): Promise<Client> {
  return (await factory(tokenEnv)).createFromAgentCard(card)
}
