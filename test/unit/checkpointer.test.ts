import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Checkpointer } from '../../src/store/checkpointer.js'
import { Store } from '../../src/store/database.js'
import { GroupCommit } from '../../src/store/group-commit.js'

let dir: string
let store: Store
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawlink-checkpoint-'))
  store = new Store(join(dir, 'store.db'))
})
afterEach(() => {
  store.close()
  rmSync(dir, { recursive: true, force: true })
})

const autocheckpoint = () =>
  Number(
    (store.db.prepare('PRAGMA wal_autocheckpoint').get() as { wal_autocheckpoint: number })
      .wal_autocheckpoint,
  )

describe('Checkpointer', () => {
  it('checkpoints on its own thread every so many group commits, and the WAL stops growing', async () => {
    const checkpointer = new Checkpointer(store.db, { path: join(dir, 'store.db') })
    // SQLite's own checkpoint (inside a commit, on the event loop) only as a far-off safety net
    expect(autocheckpoint()).toBeGreaterThan(1000)
    const commits = new GroupCommit(store.db, {
      wal: join(dir, 'store.db-wal'),
      committed: () => checkpointer.committed(),
    })
    const big = 'x'.repeat(8000)
    const round = async (r: number) => {
      for (let i = 0; i < 64; i++) await commits.run(() => store.setMeta(`k${r}-${i}`, big))
    }
    await round(0)
    await checkpointer.checkpoint()
    expect(checkpointer.stats.checkpoints).toBeGreaterThanOrEqual(1)
    expect(checkpointer.stats.copied).toBeGreaterThan(0)
    const walAfterFirst = statSync(join(dir, 'store.db-wal')).size
    // the WAL restarts from its start once checkpointed: more rounds of the same writes reuse it
    for (let r = 1; r < 4; r++) {
      await round(r)
      await checkpointer.checkpoint()
    }
    expect(statSync(join(dir, 'store.db-wal')).size).toBeLessThanOrEqual(walAfterFirst * 2)
    expect(store.getMeta('k3-63')).toBe(big)
    commits.close()
    await checkpointer.close()
  })

  it('hands checkpoints back to SQLite when its thread cannot open the store', async () => {
    const errors: string[] = []
    const checkpointer = new Checkpointer(store.db, {
      path: join(dir, 'no-such-dir', 'store.db'),
      onError: (m) => errors.push(m),
    })
    await checkpointer.checkpoint()
    expect(errors.join('\n')).toMatch(/checkpoint thread failed/)
    expect(autocheckpoint()).toBe(1000)
    await checkpointer.close()
  })
})
