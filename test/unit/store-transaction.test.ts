import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { afterCommit, NestedTransactionError, Store, transaction } from '../../src/store/database.js'
import { afterRollback } from '../../src/store/transaction.js'

let dir: string
let store: Store
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawlink-tx-'))
  store = new Store(join(dir, 'store.db'))
})
afterEach(() => {
  store.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('transaction', () => {
  it('refuses to nest, and the outer transaction still rolls back as a whole', () => {
    expect(() =>
      store.transaction(() => {
        store.setMeta('a', '1')
        transaction(store.db, () => store.setMeta('b', '2'))
      }),
    ).toThrow(NestedTransactionError)
    expect(store.getMeta('a')).toBeUndefined()
    expect(store.getMeta('b')).toBeUndefined()
    expect(store.db.isTransaction).toBe(false)
  })

  it('runs afterCommit hooks once the commit is done, in order, and sees the committed rows', () => {
    const seen: string[] = []
    store.transaction(() => {
      store.setMeta('a', '1')
      afterCommit(store.db, () => seen.push(`first:${store.db.isTransaction}:${store.getMeta('a')}`))
      store.afterCommit(() => seen.push('second'))
      expect(seen).toEqual([])
    })
    expect(seen).toEqual(['first:false:1', 'second'])
  })

  it('never runs the hooks of a transaction that rolled back', () => {
    const seen: string[] = []
    expect(() =>
      store.transaction(() => {
        afterCommit(store.db, () => seen.push('hook'))
        throw new Error('boom')
      }),
    ).toThrow('boom')
    expect(seen).toEqual([])
    // the next transaction does not inherit them
    store.transaction(() => store.setMeta('x', '1'))
    expect(seen).toEqual([])
  })

  it('outside a transaction, a hook runs at once (the statement before it committed by itself)', () => {
    const seen: string[] = []
    afterCommit(store.db, () => seen.push('now'))
    expect(seen).toEqual(['now'])
  })

  it('a failing hook does not undo the commit nor stop the others', () => {
    const seen: string[] = []
    const warn = process.emitWarning
    process.emitWarning = () => {}
    try {
      store.transaction(() => {
        store.setMeta('k', 'v')
        afterCommit(store.db, () => {
          throw new Error('hook failed')
        })
        afterCommit(store.db, () => seen.push('ran'))
      })
    } finally {
      process.emitWarning = warn
    }
    expect(store.getMeta('k')).toBe('v')
    expect(seen).toEqual(['ran'])
  })
})

describe('afterRollback', () => {
  it('runs only when the transaction rolls back', () => {
    const seen: string[] = []
    store.transaction(() => afterRollback(store.db, () => seen.push('committed?')))
    expect(seen).toEqual([])
    expect(() =>
      store.transaction(() => {
        afterRollback(store.db, () => seen.push(`rolled back:${store.db.isTransaction}`))
        throw new Error('no')
      }),
    ).toThrow('no')
    expect(seen).toEqual(['rolled back:false'])
  })
})
