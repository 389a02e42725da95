// A poll's events are seen only once the MCP answer carrying them has been written to the client: a call
// the client cancels after the node answered (the answer is then dropped by the SDK) gives them back.
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js'
import { afterEach, describe, expect, it } from 'vitest'
import type { EventJson } from '../../src/api/types.js'
import type { KeptClient } from '../../src/client/connect.js'
import { AnswerHooks } from '../../src/mcp/answer-hooks.js'
import { createToolServer } from '../../src/mcp/server.js'

const events = [{ seq: 7 }, { seq: 8 }] as unknown as EventJson[]

/** A node whose poll answers with `answer(signal)`; what the tools post to it is kept. */
function fakeNode(answer: (signal?: AbortSignal) => Promise<EventJson[]>) {
  const gets: string[] = []
  const posts: Array<{ path: string; body: unknown }> = []
  const signals: AbortSignal[] = []
  const api = {
    get: async (path: string, opts?: { signal?: AbortSignal }) => {
      gets.push(path)
      if (opts?.signal != null) signals.push(opts.signal)
      return answer(opts?.signal)
    },
    post: async (path: string, body: unknown) => {
      posts.push({ path, body })
      return { ok: true }
    },
  }
  const node = { get: () => api, close() {} } as unknown as KeptClient
  return { node, gets, posts, signals }
}

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of closers.splice(0)) await c()
})

async function connected(node: KeptClient): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  const server = createToolServer(node)
  await server.connect(serverSide)
  const client = new Client({ name: 'test', version: '1' })
  await client.connect(clientSide)
  closers.push(() => client.close())
  return client
}

describe('mcp poll: seen once the answer is out', () => {
  it('asks the node for a lease and confirms once the answer has gone to the client', async () => {
    const f = fakeNode(async () => events)
    const client = await connected(f.node)
    const res = await client.callTool({ name: 'poll', arguments: {} })
    expect(JSON.parse((res.content as Array<{ text: string }>)[0]!.text)).toEqual(events)
    expect(f.gets[0]).toMatch(/[?&]lease=60000(&|$)/)
    await expect.poll(() => f.posts).toEqual([{ path: '/v1/poll/confirm', body: { seqs: [7, 8] } }])
  })

  it('a call cancelled after the node answered gives the events back', async () => {
    let answer!: (e: EventJson[]) => void
    const f = fakeNode(() => new Promise((resolve) => (answer = resolve)))
    const client = await connected(f.node)
    const abort = new AbortController()
    const call = client.callTool({ name: 'poll', arguments: { wait_seconds: 30 } }, undefined, {
      signal: abort.signal,
    })
    await expect.poll(() => f.signals.length).toBe(1)
    abort.abort()
    await expect(call).rejects.toThrow()
    // the server has the cancellation; the node's answer comes only now (it was already on its way)
    await expect.poll(() => f.signals[0]!.aborted).toBe(true)
    answer(events)
    await expect.poll(() => f.posts).toEqual([{ path: '/v1/poll/release', body: { seqs: [7, 8] } }])
  })

  it('a peek settles nothing', async () => {
    const f = fakeNode(async () => events)
    const client = await connected(f.node)
    await client.callTool({ name: 'poll', arguments: { peek: true } })
    expect(f.gets[0]).not.toMatch(/lease=/)
    // a poll after it settles its own events, and only those
    await client.callTool({ name: 'poll', arguments: {} })
    await expect.poll(() => f.posts).toEqual([{ path: '/v1/poll/confirm', body: { seqs: [7, 8] } }])
  })
})

describe('AnswerHooks', () => {
  const answer = (id: number): JSONRPCMessage => ({ jsonrpc: '2.0', id, result: {} })

  function transport(fail = false): Transport {
    return {
      start: async () => {},
      close: async () => {},
      send: async () => {
        if (fail) throw new Error('stdout closed')
      },
    }
  }

  it('fires once: true when the answer is written, false when it fails, is cancelled or the server closes', async () => {
    const hooks = new AnswerHooks()
    const t = transport()
    hooks.watch(t)
    const seen: Array<[number, boolean]> = []
    const on = (id: number, signal = new AbortController().signal) =>
      hooks.after(id, signal, (sent) => seen.push([id, sent]))
    on(1)
    // a notification or another call's answer is not this call's answer
    await t.send({
      jsonrpc: '2.0',
      method: 'notifications/progress',
      params: { progressToken: 1, progress: 1 },
    })
    await t.send(answer(2))
    expect(seen).toEqual([])
    await t.send(answer(1))
    await t.send(answer(1))
    expect(seen).toEqual([[1, true]])

    const cancel = new AbortController()
    on(3, cancel.signal)
    cancel.abort()
    await t.send(answer(3))
    on(4, AbortSignal.abort())
    on(5)
    t.onclose?.()
    expect(seen).toEqual([
      [1, true],
      [3, false],
      [4, false],
      [5, false],
    ])

    const broken = transport(true)
    const h2 = new AnswerHooks()
    h2.watch(broken)
    let sent: boolean | undefined
    h2.after(9, new AbortController().signal, (s) => {
      sent = s
    })
    await expect(broken.send(answer(9))).rejects.toThrow('stdout closed')
    expect(sent).toBe(false)
  })
})
