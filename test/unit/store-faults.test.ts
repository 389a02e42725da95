// The store's failure modes in isolation: a full database (PRAGMA max_page_count), a store removed or
// replaced under an open connection, a store refused at start, and damage met at runtime.
import { copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ApiError, ControlServer } from '../../src/control/server.js'
import { EventLog } from '../../src/core/event-log.js'
import { StoreHealth } from '../../src/core/store-health.js'
import { type DataDirPaths, dataDirPaths } from '../../src/home/paths.js'
import { TaskStore } from '../../src/protocols/tasks/index.js'
import { Store } from '../../src/store/database.js'
import { StoreFaultError, storeFault } from '../../src/store/errors.js'
import { StoreGuard } from '../../src/store/guard.js'
import { openStore } from '../../src/store/open.js'

const require = createRequire(import.meta.url)
let dir: string
let paths: DataDirPaths
const stores: Store[] = []

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawlink-faults-'))
  paths = dataDirPaths(dir)
})

afterEach(() => {
  for (const s of stores.splice(0)) s.close()
  rmSync(dir, { recursive: true, force: true })
})

function open(): Store {
  const s = new Store(paths.store)
  stores.push(s)
  return s
}

/** Makes the database unable to grow past its current size: the next growth fails with SQLITE_FULL. */
function fill(store: Store): void {
  const pages = Number((store.db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count)
  store.db.exec(`PRAGMA max_page_count = ${pages}`)
}

function lines(): { log: EventLog; events: () => Array<Record<string, unknown>> } {
  let text = ''
  const out = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString()
      cb()
    },
  })
  const log = new EventLog(true, out, out)
  return {
    log,
    events: () =>
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  }
}

describe('a full store', () => {
  it('transaction() throws SQLITE_FULL itself, not "cannot rollback", and works again once there is room', () => {
    const store = open()
    fill(store)
    const big = 'x'.repeat(64 * 1024)
    let caught: unknown
    try {
      store.transaction(() => store.setMeta('big', big))
    } catch (err) {
      caught = err
    }
    expect((caught as Error).message).toMatch(/database or disk is full/)
    expect((caught as { errcode?: number }).errcode).toBe(13)
    const fault = storeFault(caught, paths)
    expect(fault).toBeInstanceOf(StoreFaultError)
    expect(fault!.message).toContain(`the disk holding ${paths.root} is full`)
    expect(fault!.status).toBe(507)
    expect(store.db.isTransaction).toBe(false)
    store.db.exec('PRAGMA max_page_count = 1073741823')
    store.transaction(() => store.setMeta('big', big))
    expect(store.getMeta('big')).toBe(big)
  })

  it("the task store's own transactions keep SQLITE_FULL too", () => {
    const store = open()
    const tasks = new TaskStore({ db: store.db, onEvent: () => {} })
    fill(store)
    expect(() =>
      tasks.delegate({
        peer: 'peer',
        peerName: 'peer',
        task: 't',
        context: 'y'.repeat(64 * 1024),
        priority: 'normal',
        ttl: 60_000,
      }),
    ).toThrow(/database or disk is full/)
  })
})

describe('the store guard', () => {
  function armed(): StoreGuard {
    open()
    writeFileSync(paths.lock, `${process.pid}\n`)
    return new StoreGuard(paths)
  }

  it('passes while nothing changed', () => {
    expect(armed().check()).toBeUndefined()
  })

  it('names the data dir once it is removed', () => {
    const guard = armed()
    rmSync(dir, { recursive: true, force: true })
    expect(guard.check()).toBe(`the data dir ${paths.root} was removed`)
  })

  it('names store.db once another file is moved over it, and stays lost', () => {
    const guard = armed()
    copyFileSync(paths.store, join(dir, 'other.db'))
    renameSync(join(dir, 'other.db'), paths.store)
    expect(guard.check()).toBe(`the store ${paths.store} was replaced by another file`)
    expect(guard.check()).toMatch(/replaced/)
  })

  it('names the lock file once it is removed', () => {
    const guard = armed()
    rmSync(paths.lock)
    expect(guard.check()).toBe(`the lock file ${paths.lock} was removed`)
  })

  it('StoreHealth logs store_lost once, calls back once, and refuses acks from then on', () => {
    const guardPaths = armed()
    expect(guardPaths).toBeDefined()
    const { log, events } = lines()
    const lost: Error[] = []
    const health = new StoreHealth(paths, log, (err) => lost.push(err))
    health.watch(60_000)
    expect(health.canAck()).toBe(true)
    rmSync(paths.store)
    expect(health.canAck()).toBe(false)
    expect(health.canAck()).toBe(false)
    health.stop()
    expect(lost).toHaveLength(1)
    const logged = events().filter((e) => e.event === 'store_lost')
    expect(logged).toHaveLength(1)
    expect(logged[0]).toMatchObject({ path: paths.store, reason: `the store ${paths.store} was removed` })
  })
})

describe('opening the store at start', () => {
  it('a first start (no identity) creates the store', () => {
    const { store } = openStore(paths, { existing: false, reset: false })
    stores.push(store)
    expect(store.getMeta('x')).toBeUndefined()
  })

  it('refuses a store with no node schema (user_version 0) when the node has run before', () => {
    const s = open()
    s.close()
    // a valid SQLite file that is not a node's store
    rmSync(paths.store)
    const { DatabaseSync } = require('node:sqlite') as typeof import('node:sqlite')
    const db = new DatabaseSync(paths.store)
    db.exec('CREATE TABLE other (x)')
    db.close()
    expect(() => openStore(paths, { existing: true, reset: false })).toThrow(
      /is damaged: it has no node schema.*--reset-store/,
    )
  })

  it('measures quick_check on a sound store', () => {
    const first = openStore(paths, { existing: false, reset: false })
    new TaskStore({ db: first.store.db, onEvent: () => {} })
    first.store.close()
    const again = openStore(paths, { existing: true, reset: false })
    stores.push(again.store)
    expect(again.reset).toBeUndefined()
    expect(again.checkMs).toBeGreaterThan(0)
  })
})

describe('damage met at runtime', () => {
  it('is logged once as store_corrupt and answered by the API as a clear error', async () => {
    const { log, events } = lines()
    const health = new StoreHealth(paths, log, () => {})
    const err = Object.assign(new Error('database disk image is malformed'), { errcode: 11 })
    expect(health.fault(err)?.code).toBe('store_corrupt')
    expect(health.fault(err)?.message).toContain(`the store ${paths.store} is damaged`)
    expect(events().filter((e) => e.event === 'store_corrupt')).toHaveLength(1)
    expect(health.fault(new Error('something else'))).toBeUndefined()

    const socket = join(dir, 'api.sock')
    const server = new ControlServer(socket, () => {}, undefined, {
      mapError: (e) => {
        const f = health.fault(e)
        return f != null ? new ApiError(f.status, f.code, f.message) : undefined
      },
    })
    server.route('GET', '/x', () => {
      throw err
    })
    await server.listen()
    try {
      const { request } = await import('node:http')
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ socketPath: socket, path: '/x' }, (res) => {
          let body = ''
          res.on('data', (d: Buffer) => {
            body += d.toString()
          })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        })
        req.on('error', reject)
        req.end()
      })
      expect(answer.status).toBe(503)
      expect(JSON.parse(answer.body).error.code).toBe('store_corrupt')
    } finally {
      await server.close()
    }
  })
})

describe('answers after the store was lost', () => {
  it('a route that succeeded (a delegate with its id) is answered 503 store_lost instead', async () => {
    const socket = join(dir, 'api.sock')
    let lost = false
    const server = new ControlServer(socket, () => {}, undefined, {
      gate: () => (lost ? new ApiError(503, 'store_lost', 'the store is lost') : undefined),
    })
    server.route('POST', '/delegate', () => ({ id: 'a-task-id' }))
    await server.listen()
    const { request } = await import('node:http')
    const post = () =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ socketPath: socket, path: '/delegate', method: 'POST' }, (res) => {
          let body = ''
          res.on('data', (d: Buffer) => {
            body += d.toString()
          })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        })
        req.on('error', reject)
        req.end()
      })
    try {
      expect((await post()).status).toBe(200)
      lost = true
      const answer = await post()
      expect(answer.status).toBe(503)
      expect(answer.body).not.toContain('a-task-id')
      expect(JSON.parse(answer.body).error.code).toBe('store_lost')
    } finally {
      await server.close()
    }
  })
})
