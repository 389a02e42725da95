import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Store } from '../../src/store/database.js'
import { MAX_AGENTS, MAX_QUEUE } from '../../src/v1/constants.js'
import { V1Error } from '../../src/v1/errors.js'
import { V1Store } from '../../src/v1/store.js'

let dir: string
let stores: Store[]

function open(now = () => 1_000): V1Store {
  const s = new Store(join(dir, 'store.db'))
  stores.push(s)
  return new V1Store(s.db, now)
}

const agent = (id: string) => ({
  agentId: id,
  name: id.toUpperCase(),
  capabilities: ['c'],
  machine: 'm',
  description: '',
})

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawlink-v1-store-'))
  stores = []
})
afterEach(() => {
  for (const s of stores) s.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('V1Store', () => {
  it('registers, updates on re-register, and heartbeats', () => {
    let t = 1_000
    const store = open(() => t)
    expect(store.register(agent('a1'))).toMatchObject({
      agentId: 'a1',
      registeredAt: 1_000,
      lastHeartbeat: 1_000,
    })
    t = 2_000
    store.register({ ...agent('a1'), name: 'Renamed' })
    expect(store.get('a1')).toMatchObject({ name: 'Renamed', registeredAt: 1_000, lastHeartbeat: 2_000 })
    t = 3_000
    expect(store.heartbeat('a1')).toBe(true)
    expect(store.heartbeat('nobody')).toBe(false)
    expect(store.get('a1')?.lastHeartbeat).toBe(3_000)
  })

  it('serves a bounded number of agents', () => {
    const store = open()
    for (let i = 0; i < MAX_AGENTS; i++) store.register(agent(`a${i}`))
    expect(() => store.register(agent('one-more'))).toThrow(V1Error)
    // an existing agent may still re-register
    expect(() => store.register(agent('a0'))).not.toThrow()
  })

  it('hands each queued message out once, oldest first, and keeps them across a reopen', () => {
    const store = open()
    store.register(agent('a'))
    store.transaction(() => {
      store.enqueue('a', { type: 'task_delegation', message_id: '1' })
      store.enqueue('a', { type: 'knowledge_broadcast', message_id: '2' })
    })
    stores[0]!.close()
    stores = []
    const again = open()
    expect(again.get('a')?.name).toBe('A')
    expect(again.take('a', 1)).toEqual([{ type: 'task_delegation', message_id: '1' }])
    expect(again.take('a', 10)).toEqual([{ type: 'knowledge_broadcast', message_id: '2' }])
    expect(again.take('a', 10)).toEqual([])
  })

  it('fans out to every agent but the author', () => {
    const store = open()
    for (const id of ['a', 'b', 'c']) store.register(agent(id))
    store.transaction(() => store.fanOut({ type: 'knowledge_broadcast', message_id: 'x' }, 'b'))
    expect(store.take('a', 10)).toHaveLength(1)
    expect(store.take('b', 10)).toHaveLength(0)
    expect(store.take('c', 10)).toHaveLength(1)
  })

  it('drops the oldest broadcasts of a full queue, never tasks', () => {
    const store = open()
    store.register(agent('a'))
    store.transaction(() => {
      store.enqueue('a', { type: 'task_delegation', message_id: 'task' })
      for (let i = 0; i < MAX_QUEUE; i++)
        store.enqueue('a', { type: 'knowledge_broadcast', message_id: `b${i}` })
    })
    expect(store.queued('a')).toBe(MAX_QUEUE)
    const first = store.take('a', 2)
    expect(first.map((m) => m.message_id)).toEqual(['task', 'b1'])
  })

  it('records a local task and queues its answer for the delegator', () => {
    const store = open()
    store.register(agent('a'))
    store.register(agent('b'))
    const id = store.delegateLocal('a', 'b', (id) => ({ type: 'task_delegation', message_id: id }))
    expect(store.take('b', 10)).toEqual([{ type: 'task_delegation', message_id: id }])
    const task = store.getLocalTask(id)!
    expect(task).toEqual({ id, fromAgent: 'a', toAgent: 'b', state: 'delivered' })
    store.answerLocal(task, 'completed', { type: 'task_response', message_id: id })
    expect(store.getLocalTask(id)?.state).toBe('completed')
    expect(store.take('a', 10)).toEqual([{ type: 'task_response', message_id: id }])
  })
})

describe('task store columns for v1 agent ids', () => {
  it('adds them to a store created before them, and keeps the ids of a delegation', async () => {
    const { TaskStore } = await import('../../src/protocols/tasks/task-store.js')
    // the tasks table as it was before the v1 API, in a store at schema version 1
    const { DatabaseSync } = createRequire(import.meta.url)('node:sqlite') as typeof import('node:sqlite')
    const old = new DatabaseSync(join(dir, 'old.db'))
    old.exec(`CREATE TABLE peers (id TEXT PRIMARY KEY, name TEXT NOT NULL, card TEXT NOT NULL,
      addrs TEXT NOT NULL, last_seen INTEGER NOT NULL, left_at INTEGER);
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      PRAGMA user_version = 1;
      CREATE TABLE tasks (id TEXT NOT NULL, direction TEXT NOT NULL, peer TEXT NOT NULL,
      peer_name TEXT NOT NULL, task TEXT NOT NULL, context TEXT, priority TEXT NOT NULL, state TEXT NOT NULL,
      result TEXT, reason TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL, PRIMARY KEY (direction, peer, id))`)
    old.close()
    // opening it migrates the table
    const s = new Store(join(dir, 'old.db'))
    stores.push(s)
    const tasks = new TaskStore({ db: s.db, onEvent: () => {} })
    const row = tasks.delegate({
      peer: 'peer-b',
      peerName: 'b',
      task: 't',
      context: null,
      priority: 'normal',
      ttl: 60_000,
      fromAgent: 'alice01',
      toAgent: 'bob01',
    })
    expect(row).toMatchObject({ fromAgent: 'alice01', toAgent: 'bob01' })
    // the DELEGATE in the outbox carries them
    const { TaskMessage } = await import('../../src/protocols/tasks/pb/task.js')
    const [due] = tasks.due(10)
    expect(TaskMessage.decode(due!.payload)).toMatchObject({
      fromHostedAgent: 'alice01',
      toHostedAgent: 'bob01',
    })
    // opening again does not add them twice
    expect(() => new TaskStore({ db: s.db, onEvent: () => {} })).not.toThrow()
  })
})
