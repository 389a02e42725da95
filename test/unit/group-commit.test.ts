import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Store } from '../../src/store/database.js'
import { GroupCommit } from '../../src/store/group-commit.js'

let dir: string
let store: Store
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawlink-group-'))
  store = new Store(join(dir, 'store.db'))
})
afterEach(() => {
  store.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('GroupCommit', () => {
  it('commits work queued in one turn in one transaction, and settles each after that commit', async () => {
    const commits = new GroupCommit(store.db)
    const settled: Array<{ key: string; inTx: boolean; stored?: string }> = []
    const all = Array.from({ length: 50 }, (_, i) =>
      commits
        .run(() => store.setMeta(`k${i}`, `v${i}`))
        .then(() =>
          settled.push({ key: `k${i}`, inTx: store.db.isTransaction, stored: store.getMeta(`k${i}`) }),
        ),
    )
    // nothing runs before the batch: the caller cannot see its work as done early
    expect(store.getMeta('k0')).toBeUndefined()
    await Promise.all(all)
    expect(commits.stats).toEqual({ commits: 1, work: 50 })
    expect(settled.map((s) => s.key)).toEqual(Array.from({ length: 50 }, (_, i) => `k${i}`))
    expect(settled.every((s) => !s.inTx && s.stored === `v${s.key.slice(1)}`)).toBe(true)
  })

  it('undoes a piece of work that throws alone; the others commit', async () => {
    const commits = new GroupCommit(store.db)
    const a = commits.run(() => store.setMeta('a', '1'))
    const bad = commits.run(() => {
      store.setMeta('b', '2')
      throw new Error('no')
    })
    const c = commits.run(() => store.setMeta('c', '3'))
    await expect(bad).rejects.toThrow('no')
    await a
    await c
    expect([store.getMeta('a'), store.getMeta('b'), store.getMeta('c')]).toEqual(['1', undefined, '3'])
    expect(commits.stats.commits).toBe(1)
  })

  it('bounds a batch: the rest goes to the next transaction', async () => {
    const commits = new GroupCommit(store.db, { maxBatch: 3 })
    await Promise.all(Array.from({ length: 7 }, (_, i) => commits.run(() => store.setMeta(`k${i}`, 'v'))))
    expect(commits.stats).toEqual({ commits: 3, work: 7 })
  })

  it('work queued while a batch runs waits for the next one', async () => {
    const commits = new GroupCommit(store.db)
    let inner: Promise<void> | undefined
    await commits.run(() => {
      store.setMeta('outer', '1')
      inner = commits.run(() => store.setMeta('inner', '1'))
    })
    expect(store.getMeta('inner')).toBeUndefined()
    await inner
    expect(store.getMeta('inner')).toBe('1')
    expect(commits.stats.commits).toBe(2)
  })

  it('rejects the whole batch when its commit fails, and keeps working', async () => {
    const commits = new GroupCommit(store.db)
    // a transaction left open by someone else makes BEGIN fail
    store.db.exec('BEGIN')
    await expect(commits.run(() => store.setMeta('x', '1'))).rejects.toThrow()
    store.db.exec('ROLLBACK')
    await commits.run(() => store.setMeta('y', '1'))
    expect(store.getMeta('x')).toBeUndefined()
    expect(store.getMeta('y')).toBe('1')
  })
})
