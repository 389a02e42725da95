import { mkdtempSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { EventJson, EventType, PeerEventJson, WatchEventJson } from '../../src/api/types.js'
import { parseWatchTypes, WATCH_TYPES } from '../../src/api/watch-types.js'
import { readLineStream } from '../../src/client/line-stream.js'
import { ControlServer, type LineWriter, STREAM_BUFFER_LIMIT } from '../../src/control/server.js'
import { Inbox, type NewEvent } from '../../src/core/inbox.js'
import { DEFAULT_WAKE_ON } from '../../src/core/options.js'
import { MAX_WATCHERS, TooManyWatchersError, WatchHub } from '../../src/core/watch-hub.js'
import { Store } from '../../src/store/database.js'

let dir: string
let store: Store
let inbox: Inbox

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawlink-watch-'))
  store = new Store(join(dir, 'store.db'))
  inbox = new Inbox(store.db)
})

afterEach(() => {
  store.close()
  rmSync(dir, { recursive: true, force: true })
})

function event(id: string, type: EventType = 'task'): NewEvent {
  return {
    type,
    id,
    from: { id: 'peer-bob', name: 'bob' },
    to: { id: 'peer-me', name: 'me' },
    task: `task ${id}`,
    priority: 'normal',
    state: type === 'task' ? 'delivered' : 'completed',
    timestamp: new Date(1_700_000_000_000).toISOString(),
  }
}

/** Inbox publishes in a setImmediate queued by the first append; one queued later runs after it. */
const published = () => new Promise<void>((resolve) => setImmediate(resolve))

const ids = (events: EventJson[]) => events.map((e) => e.id)

describe('Inbox.subscribe', () => {
  it('publishes committed events after the transaction, in order, with their seq', async () => {
    const got: EventJson[] = []
    inbox.subscribe((e) => got.push(e))
    store.transaction(() => {
      inbox.append(event('a'))
      inbox.append(event('b', 'task_update'))
      // nothing is published while the transaction is open
      expect(got).toEqual([])
    })
    // published as the commit is done, before transaction() returns
    expect(got.map((e) => e.id)).toEqual(['a', 'b'])
    inbox.append(event('c', 'broadcast'))
    await published()
    expect(got).toEqual([
      { seq: 1, ...event('a') },
      { seq: 2, ...event('b', 'task_update') },
      { seq: 3, ...event('c', 'broadcast') },
    ])
    expect(inbox.lastSeq()).toBe(3)
  })

  it('never publishes an event whose transaction rolled back', async () => {
    const got: EventJson[] = []
    inbox.subscribe((e) => got.push(e))
    expect(() =>
      store.transaction(() => {
        inbox.append(event('doomed'))
        throw new Error('the cause could not be stored')
      }),
    ).toThrow('the cause could not be stored')
    await published()
    expect(got).toEqual([])
    expect(inbox.lastSeq()).toBe(0)
    expect(inbox.since(0, 10)).toEqual([])
  })

  it('publishes the event that reuses a rolled-back seq, and not the rolled-back one', async () => {
    inbox.append(event('first'))
    await published()
    const got: EventJson[] = []
    inbox.subscribe((e) => got.push(e))
    const rollBack = (...names: string[]) =>
      expect(() =>
        store.transaction(() => {
          for (const n of names) inbox.append(event(n))
          throw new Error('rolled back')
        }),
      ).toThrow('rolled back')
    rollBack('rolled-back')
    // same tick: this one gets the seq the rolled-back one had
    inbox.append(event('kept'))
    await published()
    expect(got).toEqual([{ seq: 2, ...event('kept') }])
    expect(ids(inbox.since(0, 10))).toEqual(['first', 'kept'])
  })

  it('publishes the committed events of a tick and drops the rolled-back ones', async () => {
    const got: EventJson[] = []
    inbox.subscribe((e) => got.push(e))
    store.transaction(() => inbox.append(event('one')))
    expect(() =>
      store.transaction(() => {
        inbox.append(event('gone-1'))
        inbox.append(event('gone-2'))
        throw new Error('rolled back')
      }),
    ).toThrow('rolled back')
    store.transaction(() => {
      inbox.append(event('two'))
      inbox.append(event('three'))
    })
    await published()
    expect(got.map((e) => [e.seq, e.id])).toEqual([
      [1, 'one'],
      [2, 'two'],
      [3, 'three'],
    ])
  })

  it('gives every subscriber every event, and nothing after it unsubscribes', async () => {
    const a: string[] = []
    const b: string[] = []
    const offA = inbox.subscribe((e) => a.push(e.id))
    inbox.subscribe((e) => b.push(e.id))
    inbox.append(event('x'))
    await published()
    offA()
    inbox.append(event('y'))
    await published()
    expect(a).toEqual(['x'])
    expect(b).toEqual(['x', 'y'])
  })

  it('does not mark what it publishes as seen', async () => {
    inbox.subscribe(() => {})
    inbox.append(event('x'))
    await published()
    expect(inbox.unseenCount()).toBe(1)
    expect(ids(inbox.take(10, false))).toEqual(['x'])
  })
})

describe('Inbox.since and lastSeq', () => {
  it('is 0 for an empty log', () => {
    expect(inbox.lastSeq()).toBe(0)
    expect(inbox.since(0, 100)).toEqual([])
  })

  it('returns what came after a seq in log order, seen or not, up to a limit', () => {
    const types: EventType[] = ['task', 'broadcast', 'task_update', 'task', 'file_updated', 'broadcast']
    types.forEach((t, i) => {
      inbox.append(event(`e${i + 1}`, t))
    })
    // seen events are part of the log too
    inbox.take(2, false)
    expect(inbox.lastSeq()).toBe(6)
    expect(ids(inbox.since(0, 100))).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6'])
    expect(inbox.since(0, 100).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6])
    expect(ids(inbox.since(3, 100))).toEqual(['e4', 'e5', 'e6'])
    expect(ids(inbox.since(3, 2))).toEqual(['e4', 'e5'])
    expect(inbox.since(6, 100)).toEqual([])
    expect(inbox.since(4, 1)[0]).toEqual({ seq: 5, ...event('e5', 'file_updated') })
  })

  it('filters by type', () => {
    const types: EventType[] = ['task', 'broadcast', 'task_update', 'task', 'file_updated', 'broadcast']
    types.forEach((t, i) => {
      inbox.append(event(`e${i + 1}`, t))
    })
    expect(ids(inbox.since(0, 100, ['broadcast']))).toEqual(['e2', 'e6'])
    expect(ids(inbox.since(0, 100, ['task', 'file_updated']))).toEqual(['e1', 'e4', 'e5'])
    expect(ids(inbox.since(1, 1, ['task', 'file_updated']))).toEqual(['e4'])
    expect(ids(inbox.since(2, 100, ['broadcast']))).toEqual(['e6'])
    // an empty filter is no filter
    expect(ids(inbox.since(4, 100, []))).toEqual(['e5', 'e6'])
  })
})

describe('WatchHub', () => {
  const peer: PeerEventJson = {
    type: 'peer_online',
    peer: { id: 'peer-carol', name: 'carol' } as PeerEventJson['peer'],
    reason: 'joined',
    timestamp: new Date(0).toISOString(),
  }

  it('hands every event to every listener until it unsubscribes', () => {
    const hub = new WatchHub()
    const a: WatchEventJson[] = []
    const b: WatchEventJson[] = []
    const offA = hub.subscribe((e) => a.push(e))
    hub.subscribe((e) => b.push(e))
    hub.publish(peer)
    offA()
    hub.publish({ ...peer, type: 'peer_offline' })
    expect(a.map((e) => e.type)).toEqual(['peer_online'])
    expect(b.map((e) => e.type)).toEqual(['peer_online', 'peer_offline'])
  })

  it('keeps delivering to the others when a listener throws', () => {
    const hub = new WatchHub()
    const got: string[] = []
    hub.subscribe(() => {
      throw new Error('broken watcher')
    })
    hub.subscribe((e) => got.push(e.type))
    expect(() => hub.publish(peer)).not.toThrow()
    expect(got).toEqual(['peer_online'])
  })

  it('limits client watchers, not the node’s own hooks', () => {
    const hub = new WatchHub()
    const offs = Array.from({ length: MAX_WATCHERS }, () => hub.subscribe(() => {}))
    expect(() => hub.subscribe(() => {})).toThrow(TooManyWatchersError)
    let internal = 0
    hub.subscribe(() => internal++, { internal: true })
    hub.subscribe(() => internal++, { internal: true })
    hub.publish(peer)
    expect(internal).toBe(2)
    // a watcher that leaves frees its place
    offs[0]!()
    expect(() => hub.subscribe(() => {})).not.toThrow()
    expect(() => hub.subscribe(() => {})).toThrow(`at most ${MAX_WATCHERS} watchers at once`)
  })
})

describe('parseWatchTypes', () => {
  it('parses a comma list, ignoring blanks and spaces', () => {
    expect(parseWatchTypes('task, broadcast,,peer_online ')).toEqual(['task', 'broadcast', 'peer_online'])
    expect(parseWatchTypes(WATCH_TYPES.join(','))).toEqual([...WATCH_TYPES])
  })

  it('names an unknown type, shortened', () => {
    expect(() => parseWatchTypes('task,tasks')).toThrow(
      /unknown event type "tasks"; known: task, task_update/,
    )
    expect(() => parseWatchTypes(`task,${'x'.repeat(1_000)}`)).toThrow(
      `unknown event type "${'x'.repeat(40)}";`,
    )
  })

  it("knows task_sent (the node's own delegations), which the default wake set leaves out", () => {
    expect(parseWatchTypes('task_sent')).toEqual(['task_sent'])
    expect(DEFAULT_WAKE_ON).not.toContain('task_sent')
  })

  it('wants at least one type', () => {
    expect(() => parseWatchTypes('')).toThrow('give at least one event type')
    expect(() => parseWatchTypes(' , ,')).toThrow('give at least one event type')
  })
})

describe('ControlServer.stream', () => {
  let socketPath: string
  let server: ControlServer
  const errors: Error[] = []
  const clients: Socket[] = []

  beforeEach(() => {
    socketPath = join(dir, 'control.sock')
    errors.length = 0
  })

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy()
    await server?.close()
  })

  async function serve(route: (out: LineWriter, signal: AbortSignal) => Promise<void>): Promise<void> {
    server = new ControlServer(socketPath, (err) => errors.push(err))
    server.stream('GET', '/v1/watch', (req) => (out) => route(out, req.signal))
    await server.listen()
  }

  const line = (i: number) => ({ i, pad: 'p'.repeat(64 * 1024) })
  const lineBytes = JSON.stringify(line(0)).length + 1

  it('refuses more lines once a client that does not read is over the buffer bound', async () => {
    let result!: (r: { written: number; refusedAt: number }) => void
    const outcome = new Promise<{ written: number; refusedAt: number }>((resolve) => {
      result = resolve
    })
    await serve(async (out) => {
      let written = 0
      // far more than the bound: the loop must be stopped by write() returning false
      for (let i = 0; i < 1_000; i++) {
        if (!out.write(line(i))) {
          result({ written, refusedAt: i })
          out.end()
          return
        }
        written += lineBytes
        // let the socket hand what it can to the kernel, as a real stream would between events
        await new Promise<void>((resolve) => setImmediate(resolve))
      }
      result({ written, refusedAt: -1 })
    })
    const client = connect(socketPath)
    clients.push(client)
    client.on('error', () => {})
    client.write('GET /v1/watch HTTP/1.1\r\nHost: x\r\n\r\n')
    // never reads
    client.pause()
    const { written, refusedAt } = await outcome
    expect(refusedAt).toBeGreaterThan(0)
    expect(written).toBeGreaterThan(STREAM_BUFFER_LIMIT)
    // what the kernel's socket buffers took is on top of the bound; the rest is at most one line over
    expect(written).toBeLessThan(STREAM_BUFFER_LIMIT + 8 * 1024 * 1024)
  })

  it('never refuses a client that keeps up, when the route waits for drain', async () => {
    const total = Math.ceil((2 * STREAM_BUFFER_LIMIT) / lineBytes)
    let refused = 0
    await serve(async (out) => {
      for (let i = 0; i < total; i++) {
        if (!out.write(line(i))) refused++
        await out.drain()
      }
    })
    let count = 0
    let inOrder = true
    await readLineStream({
      socket: socketPath,
      path: '/v1/watch',
      label: 'test',
      onValue: (v) => {
        if ((v as { i: number }).i !== count) inOrder = false
        count++
      },
    })
    expect(refused).toBe(0)
    expect(count).toBe(total)
    expect(inOrder).toBe(true)
  })

  it('refuses writes after the stream ended, and ends a stream whose route fails midway', async () => {
    let afterEnd: boolean | undefined
    await serve(async (out) => {
      out.write({ n: 1 })
      out.end()
      afterEnd = out.write({ n: 2 })
    })
    const values: unknown[] = []
    await readLineStream({
      socket: socketPath,
      path: '/v1/watch',
      label: 'test',
      onValue: (v) => values.push(v),
    })
    expect(values).toEqual([{ n: 1 }])
    expect(afterEnd).toBe(false)
    await server.close()

    await serve(async (out) => {
      out.write({ n: 1 })
      throw new Error('the route broke')
    })
    values.length = 0
    await readLineStream({
      socket: socketPath,
      path: '/v1/watch',
      label: 'test',
      onValue: (v) => values.push(v),
    })
    expect(values).toEqual([{ n: 1 }])
    expect(errors.map((e) => e.message)).toEqual(['the route broke'])
  })
})
