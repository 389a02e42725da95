import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Store } from '../../src/store/database.js'
import { AGENT_MAX_SILENCE, MAX_AGENTS, MAX_QUEUE } from '../../src/v1/constants.js'
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
    expect(again.take('a', 1)).toEqual([{ type: 'task_delegation', message_id: '1', queued_at: 1 }])
    expect(again.take('a', 10)).toEqual([{ type: 'knowledge_broadcast', message_id: '2', queued_at: 1 }])
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
    const { id, short } = store.delegateLocal('a', 'b', (short) => ({
      type: 'task_delegation',
      message_id: short,
    }))
    expect(short).toMatch(/^[0-9a-f]{12}$/)
    expect(store.taskIdOf(short)).toBe(id)
    expect(store.take('b', 10)).toEqual([{ type: 'task_delegation', message_id: short, queued_at: 1 }])
    const task = store.getLocalTask(id)!
    expect(task).toEqual({ id, fromAgent: 'a', toAgent: 'b', state: 'delivered' })
    store.answerLocal(task, 'completed', { type: 'task_response', message_id: id })
    expect(store.getLocalTask(id)?.state).toBe('completed')
    expect(store.take('a', 10)).toEqual([{ type: 'task_response', message_id: id, queued_at: 1 }])
  })
})

describe('V1Store registrations (a v1 client makes a new id at every register)', () => {
  it('replaces the record of the same name on the same machine, moving its queue', () => {
    const store = open()
    store.register({ ...agent('old1'), name: 'worker' })
    store.enqueue('old1', { type: 'task_delegation', message_id: 'm1' })
    const again = store.register({ ...agent('new1'), name: 'worker' })
    expect(again.replaced).toEqual(['old1'])
    expect(store.has('old1')).toBe(false)
    expect(store.take('new1', 10)).toMatchObject([{ message_id: 'm1' }])
    // the same name on another machine is another agent
    expect(store.register({ ...agent('other'), name: 'worker', machine: 'elsewhere' }).replaced).toEqual([])
    expect(
      store
        .list()
        .map((a) => a.agentId)
        .sort(),
    ).toEqual(['new1', 'other'])
  })

  it('never reaches the agent cap through re-registrations', () => {
    const store = open()
    for (let i = 0; i < MAX_AGENTS * 3; i++) store.register({ ...agent(`run${i}`), name: 'restarting' })
    expect(store.list()).toHaveLength(1)
    for (let i = 0; i < MAX_AGENTS - 1; i++) store.register(agent(`a${i}`))
    expect(() => store.register({ ...agent('run-last'), name: 'restarting' })).not.toThrow()
    expect(store.list()).toHaveLength(MAX_AGENTS)
  })

  it('prunes agents silent for 24 h, with their queues', () => {
    let t = 1_000
    const store = open(() => t)
    store.register(agent('quiet'))
    store.register(agent('busy'))
    store.enqueue('quiet', { type: 'knowledge_broadcast', message_id: 'b' })
    t += AGENT_MAX_SILENCE - 1
    store.heartbeat('busy')
    expect(store.pruneSilent()).toEqual([])
    t += 2
    expect(store.pruneSilent()).toEqual(['quiet'])
    expect(store.has('quiet')).toBe(false)
    expect(store.queued('quiet')).toBe(0)
    expect(store.has('busy')).toBe(true)
    // a register prunes too
    t += AGENT_MAX_SILENCE + 1
    store.register(agent('late'))
    expect(store.list().map((a) => a.agentId)).toEqual(['late'])
  })

  it('deregisters an agent and drops its queue', () => {
    const store = open()
    store.register(agent('gone'))
    store.enqueue('gone', { type: 'knowledge_broadcast', message_id: 'b' })
    expect(store.deregister('gone')).toBe(true)
    expect(store.has('gone')).toBe(false)
    expect(store.queued('gone')).toBe(0)
    expect(store.deregister('gone')).toBe(false)
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
