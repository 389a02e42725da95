import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Store } from '../../src/store/database.js'
import { GroupCommit, WalSyncError } from '../../src/store/group-commit.js'
import { afterCommit, afterRollback } from '../../src/store/transaction.js'

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
    // no time bound: a loaded machine must not split the batch
    const commits = new GroupCommit(store.db, { maxBatchMs: 60_000 })
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
    expect(commits.stats).toEqual({ commits: 1, work: 50, syncs: 0, syncWaits: 0 })
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
    expect(commits.stats).toEqual({ commits: 3, work: 7, syncs: 0, syncWaits: 0 })
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

  it('a piece of work that throws takes its after-commit hooks with it, and its rollback hooks run', async () => {
    const commits = new GroupCommit(store.db)
    const ran: string[] = []
    const good = commits.run(() => afterCommit(store.db, () => ran.push('good committed')))
    const bad = commits.run(() => {
      afterCommit(store.db, () => ran.push('bad committed'))
      afterRollback(store.db, () => ran.push('bad undone'))
      throw new Error('no')
    })
    await expect(bad).rejects.toThrow('no')
    await good
    expect(ran).toEqual(['bad undone', 'good committed'])
  })
})

describe('GroupCommit with the WAL synced off the event loop', () => {
  /** A sync the test completes by hand, recording what was committed when it started. */
  function manualSync() {
    const pending: Array<(err: Error | null) => void> = []
    return {
      pending,
      sync: (_fd: number, done: (err: Error | null) => void) => void pending.push(done),
      finish(err: Error | null = null) {
        pending.shift()!(err)
      },
    }
  }
  const wal = () => join(dir, 'store.db-wal')
  const turn = () => new Promise((r) => setImmediate(r))

  it('commits without an inline fsync and settles only once the WAL sync returns', async () => {
    const s = manualSync()
    const commits = new GroupCommit(store.db, { wal: wal(), sync: s.sync })
    expect(commits.offLoopSync).toBe(true)
    const hooks: string[] = []
    let settled = false
    const done = commits
      .run(() => {
        store.setMeta('k', 'v')
        afterCommit(store.db, () => hooks.push('after commit'))
      })
      .then(() => {
        settled = true
      })
    await turn()
    await turn()
    // committed (readable) but not yet synced: nothing is reported, no hook has run
    expect(store.getMeta('k')).toBe('v')
    expect(s.pending).toHaveLength(1)
    expect(settled).toBe(false)
    expect(hooks).toEqual([])
    // back to synchronous=FULL for anything outside the group commit
    expect((store.db.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous).toBe(2)
    s.finish()
    await done
    expect(hooks).toEqual(['after commit'])
    expect(commits.stats.syncs).toBe(1)
  })

  it('batches committed while a sync runs share the next one', async () => {
    const s = manualSync()
    const commits = new GroupCommit(store.db, { wal: wal(), sync: s.sync })
    const first = commits.run(() => store.setMeta('a', '1'))
    await turn()
    const later = [commits.run(() => store.setMeta('b', '1'))]
    await turn()
    later.push(commits.run(() => store.setMeta('c', '1')))
    await turn()
    expect(commits.stats.commits).toBe(3)
    // one sync in flight; the two batches after it wait for the same next one
    expect(s.pending).toHaveLength(1)
    s.finish()
    await first
    expect(s.pending).toHaveLength(1)
    s.finish()
    await Promise.all(later)
    expect(commits.stats.syncs).toBe(2)
  })

  it('a failed sync rejects the work of its batches (committed, but not known to be on disk)', async () => {
    const s = manualSync()
    const commits = new GroupCommit(store.db, { wal: wal(), sync: s.sync })
    const work = commits.run(() => store.setMeta('k', 'v'))
    await turn()
    s.finish(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }))
    await expect(work).rejects.toBeInstanceOf(WalSyncError)
    // the next batch gets its own sync, and is reported once that one succeeds
    const next = commits.run(() => store.setMeta('k2', 'v'))
    await turn()
    s.finish()
    await expect(next).resolves.toBeUndefined()
  })

  it('syncs the real WAL with fdatasync, and falls back to inline fsync without one', async () => {
    const commits = new GroupCommit(store.db, { wal: wal() })
    await Promise.all(Array.from({ length: 20 }, (_, i) => commits.run(() => store.setMeta(`k${i}`, 'v'))))
    expect(commits.stats.syncs).toBeGreaterThanOrEqual(1)
    commits.close()
    const inline = new GroupCommit(store.db, { wal: join(dir, 'no-such-wal') })
    expect(inline.offLoopSync).toBe(false)
    await inline.run(() => store.setMeta('x', 'v'))
    expect(inline.stats.syncs).toBe(0)
    expect(store.getMeta('x')).toBe('v')
  })

  it('commitNow commits at once on the loop, without waiting for a sync, and restores synchronous=FULL', async () => {
    const s = manualSync()
    const commits = new GroupCommit(store.db, { wal: wal(), sync: s.sync })
    commits.commitNow(() => store.setMeta('now', '1'))
    // committed before the call returned: no batch, no sync asked for
    expect(store.getMeta('now')).toBe('1')
    expect(commits.stats.commits).toBe(0)
    expect(s.pending).toHaveLength(0)
    expect((store.db.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous).toBe(2)
    expect(() =>
      commits.commitNow(() => {
        store.setMeta('undone', '1')
        throw new Error('no')
      }),
    ).toThrow('no')
    expect(store.getMeta('undone')).toBeUndefined()
  })
})
