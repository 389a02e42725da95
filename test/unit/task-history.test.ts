// A task's history of states (GET /v1/tasks?id= `history`): kept by triggers on the tasks table, so
// every writer records it; an update that keeps the state (a progress message) adds no step.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TaskStore } from '../../src/protocols/tasks/task-store.js'
import { Store } from '../../src/store/database.js'

describe('TaskStore.history', () => {
  let dir: string
  let store: Store
  let tasks: TaskStore

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'clawlink-history-'))
    store = new Store(join(dir, 'store.db'))
    tasks = new TaskStore({ db: store.db, onEvent: () => {} })
  })

  afterEach(() => {
    store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('records the first state and each change, in order, with its time', () => {
    const row = tasks.delegate({
      peer: 'p',
      peerName: 'p',
      task: 't',
      context: null,
      priority: 'normal',
      ttl: 60_000,
    })
    const working = tasks.setState(row, 'working', 'started', null)
    const again = tasks.setState(working, 'working', 'half way', null)
    const done = tasks.setState(again, 'completed', 'done', null)
    const history = tasks.history(done)
    expect(history.map((h) => h.state)).toEqual(['submitted', 'working', 'completed'])
    expect(history[0]!.at).toBe(row.createdAt)
    expect(history[2]!.at).toBe(done.updatedAt)
    // another task's steps stay apart
    const other = tasks.delegate({
      peer: 'q',
      peerName: 'q',
      task: 'u',
      context: null,
      priority: 'low',
      ttl: 60_000,
    })
    expect(tasks.history(other).map((h) => h.state)).toEqual(['submitted'])
  })
})
