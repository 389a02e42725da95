// Test helpers for the A2A bridge: the SDK's own client pointed at a `clawlink node --a2a` process.
import { randomUUID } from 'node:crypto'
import type { Message, SendMessageRequest } from '@a2a-js/sdk'
import { type Client, ClientFactory, ClientFactoryOptions, JsonRpcTransportFactory } from '@a2a-js/sdk/client'
import type { NodeProcess } from './cli.js'

/** The bridge's base URL, from its `a2a_listening` event. */
export function a2aUrl(p: NodeProcess): string {
  const e = p.events.find((x) => x.event === 'a2a_listening')
  if (e == null) throw new Error('the node logged no a2a_listening')
  return e.url as string
}

/** An SDK client for agent `name` on the bridge at `base` (JSON-RPC), sending `token` if given. */
export function a2aClient(base: string, name: string, token?: string): Promise<Client> {
  const fetchImpl: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers)
    if (token != null) headers.set('authorization', `Bearer ${token}`)
    return fetch(input, { ...init, headers })
  }
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl })],
      preferredTransports: ['JSONRPC'],
    }),
  )
  return factory.createFromUrl(base, `/agents/${encodeURIComponent(name)}/.well-known/agent-card.json`)
}

export function userMessage(text: string, extra: Partial<Message> = {}): Message {
  return {
    messageId: randomUUID(),
    contextId: '',
    taskId: '',
    role: 1,
    parts: [{ content: { $case: 'text', value: text }, mediaType: 'text/plain', filename: '', metadata: {} }],
    metadata: {},
    extensions: [],
    referenceTaskIds: [],
    ...extra,
  }
}

/** A SendMessage request; `returnImmediately` so it answers with the submitted task. */
export function sendRequest(
  text: string,
  opts: Partial<SendMessageRequest['configuration']> = {},
): SendMessageRequest {
  return {
    tenant: '',
    message: userMessage(text),
    configuration: {
      acceptedOutputModes: [],
      taskPushNotificationConfig: undefined,
      returnImmediately: true,
      ...opts,
    },
    metadata: {},
  }
}
