import { describe, expect, it } from 'vitest'
import { InvalidCardError, validateHostedAgents } from '../../src/protocols/presence/index.js'
import { TaskMessage } from '../../src/protocols/tasks/pb/task.js'
import { validateMessage } from '../../src/protocols/tasks/validate.js'
import { broadcastMessage, mediaTypeFor } from '../../src/v1/envelopes.js'
import { V1Error } from '../../src/v1/errors.js'
import { isLoopback, parseV1Listen } from '../../src/v1/listen.js'
import {
  parseBroadcast,
  parseDelegate,
  parseFile,
  parseHeartbeat,
  parseRegister,
  parseRespond,
  pathAgentId,
} from '../../src/v1/validate.js'

function status(fn: () => unknown): number | undefined {
  try {
    fn()
  } catch (err) {
    if (err instanceof V1Error) return err.status
    throw err
  }
  return undefined
}

describe('v1 request validation', () => {
  it('parses a register body with defaults and v1 variants', () => {
    expect(parseRegister({ agent_id: 'a1b2c3d4', name: 'Research Agent', extra: 1 })).toEqual({
      agentId: 'a1b2c3d4',
      name: 'Research Agent',
      capabilities: [],
      machine: '',
      description: '',
    })
    expect(
      parseRegister({ agent_id: 'x', name: 'n', capabilities: 'code, review,code' }).capabilities,
    ).toEqual(['code', 'review'])
  })

  it('refuses bad register bodies with 400', () => {
    for (const body of [
      null,
      [],
      'text',
      {},
      { agent_id: 'a' },
      { agent_id: '', name: 'n' },
      { agent_id: '-a', name: 'n' },
      { agent_id: 'a/b', name: 'n' },
      { agent_id: 'a'.repeat(49), name: 'n' },
      { agent_id: 'a', name: 'x'.repeat(65) },
      { agent_id: 'a', name: 'bad\u0007name' },
      { agent_id: 'a', name: 'n', capabilities: [1] },
      { agent_id: 'a', name: 'n', capabilities: Array.from({ length: 17 }, (_, i) => `c${i}`) },
      { agent_id: 'a', name: 'n', description: 'd'.repeat(1025) },
      { agent_id: 7, name: 'n' },
    ]) {
      expect(
        status(() => parseRegister(body)),
        JSON.stringify(body),
      ).toBe(400)
    }
  })

  it('parses delegations: context as JSON text, priorities, size limit', () => {
    const d = parseDelegate(
      { from_agent: 'a', to_agent: '12D3KooWabc', task: 'do', context: { k: [1] }, priority: 'MEDIUM' },
      1024,
    )
    expect(d).toEqual({
      fromAgent: 'a',
      toAgent: '12D3KooWabc',
      task: 'do',
      context: '{"k":[1]}',
      priority: 'normal',
    })
    expect(parseDelegate({ from_agent: 'a', to_agent: 'b', task: 't' }, 1024)).toMatchObject({
      context: null,
      priority: 'normal',
    })
    expect(parseDelegate({ from_agent: 'a', to_agent: 'b', task: 't', context: 'text' }, 1024).context).toBe(
      '"text"',
    )
    expect(status(() => parseDelegate({ from_agent: 'a', to_agent: 'b', task: '  ' }, 1024))).toBe(400)
    expect(
      status(() => parseDelegate({ from_agent: 'a', to_agent: 'b', task: 't', priority: 'now' }, 1024)),
    ).toBe(400)
    expect(
      status(() => parseDelegate({ from_agent: 'a', to_agent: 'b', task: 'x'.repeat(1025) }, 1024)),
    ).toBe(400)
    expect(status(() => parseDelegate({ from_agent: 'a', to_agent: 'b c', task: 't' }, 1024))).toBe(400)
    let deep: unknown = 1
    for (let i = 0; i < 200; i++) deep = [deep]
    expect(
      status(() => parseDelegate({ from_agent: 'a', to_agent: 'b', task: 't', context: deep }, 1 << 20)),
    ).toBe(400)
  })

  it('parses responses: free-form results, v1 status names', () => {
    expect(parseRespond({ from_agent: 'b', message_id: 'id-1', result: 'done' }, 100)).toMatchObject({
      result: 'done',
      status: 'completed',
    })
    expect(
      parseRespond({ from_agent: 'b', message_id: 'id-1', result: { ok: true }, status: 'error' }, 100),
    ).toMatchObject({
      result: '{"ok":true}',
      status: 'failed',
    })
    expect(
      parseRespond({ from_agent: 'b', message_id: 'id', result: '', status: 'in_progress' }, 100).status,
    ).toBe('working')
    expect(status(() => parseRespond({ from_agent: 'b', message_id: 'id' }, 100))).toBe(400)
    // v1 took any status word: kept as sent, mapped to a mesh state that lets more answers follow
    expect(
      parseRespond({ from_agent: 'b', message_id: 'id', result: 'r', status: 'partial' }, 100),
    ).toMatchObject({ status: 'working', v1Status: 'partial' })
    expect(
      parseRespond({ from_agent: 'b', message_id: 'id', result: 'r', status: 'toString' }, 100),
    ).toMatchObject({ status: 'working', v1Status: 'toString' })
    expect(
      status(() => parseRespond({ from_agent: 'b', message_id: 'id', result: 'r', status: 'a\u0001b' }, 100)),
    ).toBe(400)
    expect(
      status(() => parseRespond({ from_agent: 'b', message_id: 'id', result: 'x'.repeat(101) }, 100)),
    ).toBe(400)
    expect(status(() => parseRespond({ from_agent: 'b', message_id: '../x', result: 'r' }, 100))).toBe(400)
  })

  it('parses broadcasts, with up to 16 tags (the mesh format carries the sender in a field of its own)', () => {
    expect(parseBroadcast({ from_agent: 'a', content: 'hi', tags: ['x', 'x'] })).toEqual({
      fromAgent: 'a',
      content: 'hi',
      topic: 'general',
      tags: ['x'],
    })
    expect(status(() => parseBroadcast({ from_agent: 'a', content: 'hi', tags: 'x' }))).toBe(400)
    expect(status(() => parseBroadcast({ from_agent: 'a', content: 'hi', tags: ['a,b'] }))).toBe(400)
    const tags = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`)
    expect(parseBroadcast({ from_agent: 'a', content: 'hi', tags: tags(16) }).tags).toEqual(tags(16))
    expect(status(() => parseBroadcast({ from_agent: 'a', content: 'hi', tags: tags(17) }))).toBe(400)
    expect(() => parseBroadcast({ from_agent: 'a', content: 'hi', tags: tags(17) })).toThrow(
      'at most 16 tags',
    )
  })

  it('parses files and heartbeats', () => {
    expect(parseFile({ file_key: 'k.md', content: '', agent_id: 'a' })).toEqual({
      fileKey: 'k.md',
      content: '',
      agentId: 'a',
      fileType: 'text',
    })
    expect(status(() => parseFile({ file_key: 'k', content: 5, agent_id: 'a' }))).toBe(400)
    expect(status(() => parseFile({ file_key: 'k', content: 'x', agent_id: 'a', file_type: 'a b' }))).toBe(
      400,
    )
    expect(
      status(() => parseFile({ file_key: 'k', content: 'x'.repeat(1024 * 1024 + 1), agent_id: 'a' })),
    ).toBe(413)
    expect(parseHeartbeat({ agent_id: 'a' })).toEqual({ agentId: 'a' })
    expect(status(() => pathAgentId('../etc'))).toBe(400)
  })
})

describe('--v1-api listen address', () => {
  it('parses PORT, HOST:PORT and [IPv6]:PORT', () => {
    expect(parseV1Listen('9077')).toEqual({ host: '127.0.0.1', port: 9077 })
    expect(parseV1Listen('0.0.0.0:80')).toEqual({ host: '0.0.0.0', port: 80 })
    expect(parseV1Listen('localhost:1')).toEqual({ host: 'localhost', port: 1 })
    expect(parseV1Listen('[::1]:9077')).toEqual({ host: '::1', port: 9077 })
    for (const bad of ['', 'x', '70000', ':90', 'host:', 'a b:1', '1.2.3.4:-1']) {
      expect(() => parseV1Listen(bad), bad).toThrow(/--v1-api/)
    }
  })

  it('knows which hosts are loopback', () => {
    expect(['127.0.0.1', '127.9.9.9', '::1', 'localhost'].every(isLoopback)).toBe(true)
    expect(['0.0.0.0', '192.168.1.2', '::', 'example.com'].some(isLoopback)).toBe(false)
  })
})

describe('v1 data on the wire', () => {
  it('takes the v1 author from the signed field, never from a v1-from: tag', () => {
    const b = { id: 'i', author: 'PEER', content: 'c', topic: 'general', time: 't' }
    expect(broadcastMessage({ ...b, tags: ['a', 'v1-from:mallory'] }).from_agent).toBe('PEER')
    expect(broadcastMessage({ ...b, tags: ['a'], fromHostedAgent: 'bob01' }).from_agent).toBe('bob01')
    expect(broadcastMessage({ ...b, tags: ['a'] }).from_agent).toBe('PEER')
  })

  it('fits the v1 editor and type in a media type within its limit', () => {
    expect(mediaTypeFor('json').length).toBeLessThanOrEqual(128)
    expect(mediaTypeFor('x'.repeat(32)).length).toBeLessThanOrEqual(128)
  })

  it('bounds the v1 agents a card may list', () => {
    const agent = {
      agentId: 'a1',
      name: 'A',
      capabilities: ['c'],
      description: '',
      machine: 'm',
      heartbeatAge: 5,
    }
    expect(() => validateHostedAgents({ agents: [agent] })).not.toThrow()
    const many = Array.from({ length: 33 }, (_, i) => ({ ...agent, agentId: `a${i}` }))
    for (const bad of [
      { agents: many },
      { agents: [agent, agent] },
      { agents: [{ ...agent, agentId: '' }] },
      { agents: [{ ...agent, agentId: 'x'.repeat(49) }] },
      { agents: [{ ...agent, description: 'd'.repeat(257) }] },
      { agents: [{ ...agent, capabilities: Array.from({ length: 17 }, (_, i) => `c${i}`) }] },
      { agents: [{ ...agent, name: 'a\u0000' }] },
    ]) {
      expect(() => validateHostedAgents(bad)).toThrow(InvalidCardError)
    }
  })

  it('accepts v1 agent ids only on a DELEGATE, and only well-formed', () => {
    const msg: TaskMessage = {
      kind: TaskMessage.Kind.DELEGATE,
      msgId: 'm1',
      taskId: 'm1',
      task: 't',
      context: '',
      priority: TaskMessage.Priority.NORMAL,
      createdAt: 1n,
      expiresAt: BigInt(Date.now() + 1000),
      state: TaskMessage.State.UNSPECIFIED,
      result: '',
      reason: '',
      fromHostedAgent: 'alice01',
      toHostedAgent: 'bob01',
    }
    expect(() => validateMessage(msg, 1024)).not.toThrow()
    expect(() => validateMessage({ ...msg, toHostedAgent: 'bad agent' }, 1024)).toThrow(/to_hosted_agent/)
    expect(() => validateMessage({ ...msg, fromHostedAgent: '' }, 1024)).toThrow(/from_hosted_agent/)
    expect(() =>
      validateMessage({ ...msg, kind: TaskMessage.Kind.UPDATE, state: TaskMessage.State.COMPLETED }, 1024),
    ).toThrow(/not a DELEGATE/)
  })
})
