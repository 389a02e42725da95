import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ClientError } from '../../src/client/errors.js'
import { readLineStream } from '../../src/client/line-stream.js'
import { ApiError, ControlServer } from '../../src/control/server.js'

let dir: string
let socketPath: string
const cleanups: Array<() => Promise<void> | void> = []

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clawlink-ls-'))
  socketPath = join(dir, 'control.sock')
})

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
  rmSync(dir, { recursive: true, force: true })
})

/** Reads the stream into an array; the promise is readLineStream's own. */
function read(path: string, opts: { signal?: AbortSignal; onValue?: (v: unknown) => void } = {}) {
  const values: unknown[] = []
  const done = readLineStream({
    socket: socketPath,
    path,
    label: 'test-node',
    signal: opts.signal,
    onValue: (v) => {
      values.push(v)
      opts.onValue?.(v)
    },
  })
  return { values, done }
}

async function control(setup: (server: ControlServer) => void): Promise<ControlServer> {
  const server = new ControlServer(socketPath)
  setup(server)
  await server.listen()
  cleanups.push(() => server.close())
  return server
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * A raw HTTP server on the Unix socket: once it has a request head, `answer` writes the response.
 * Server and client share this process's event loop, so a write followed by a `turn()` reaches the
 * client as its own read: that is how a test splits a response into packets where it wants.
 */
async function raw(
  answer: (socket: Socket, requestHead: string) => Promise<void>,
): Promise<{ heads: string[] }> {
  const heads: string[] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let head = ''
    socket.on('data', (d: Buffer) => {
      if (head.includes('\r\n\r\n')) return
      head += d.toString('latin1')
      if (!head.includes('\r\n\r\n')) return
      heads.push(head)
      void answer(socket, head).catch(() => socket.destroy())
    })
  })
  await new Promise<void>((resolve) => server.listen(socketPath, resolve))
  cleanups.push(async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { heads }
}

/** Writes `parts` one read at a time. */
async function sendParts(socket: Socket, parts: Buffer[]): Promise<void> {
  for (const part of parts) {
    if (socket.destroyed) return
    socket.write(part)
    await turn()
  }
}

function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const parts: Buffer[] = []
  let from = 0
  for (const cut of [...cuts, buf.length]) {
    if (cut > from) parts.push(buf.subarray(from, cut))
    from = Math.max(from, cut)
  }
  return parts
}

// ---- what the raw server sends ----

const VALUES: unknown[] = [
  { type: 'watching', seq: 7 },
  { type: 'task', id: 't1', task: 'café ✓ — 日本語 🦀' },
  { n: 2 },
  { n: 3, nested: { list: [1, 2, 3] } },
  'a string value',
  42,
]

/** A chunked body with every framing case: several lines in a chunk, a line over several chunks,
 * a character split between chunks, a chunk extension, upper-case hex, an empty line, a trailer. */
function chunkedResponse(): Buffer {
  const body = Buffer.from(
    `${VALUES.slice(0, 3)
      .map((v) => JSON.stringify(v))
      .join('\n')}\n\n`,
  )
  // split the body in the middle of the crab (4 bytes of UTF-8)
  const crab = body.indexOf(Buffer.from('🦀'))
  const first = body.subarray(0, crab + 2)
  const second = body.subarray(crab + 2)
  const tail = Buffer.from(
    `${JSON.stringify(VALUES[3])}\n${JSON.stringify(VALUES[4])}\n${JSON.stringify(VALUES[5])}\n`,
  )
  const chunk = (data: Buffer, ext = '') =>
    Buffer.concat([
      Buffer.from(`${data.length.toString(16).toUpperCase()}${ext}\r\n`),
      data,
      Buffer.from('\r\n'),
    ])
  return Buffer.concat([
    Buffer.from(
      'HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n',
    ),
    chunk(first),
    chunk(second, ';name=value'),
    chunk(tail.subarray(0, 5)),
    chunk(tail.subarray(5)),
    Buffer.from('0\r\nX-Trailer: 1\r\n\r\n'),
  ])
}

/** The same values without chunking: the body ends when the connection closes. */
function closeDelimitedResponse(): Buffer {
  return Buffer.concat([
    Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nConnection: close\r\n\r\n'),
    Buffer.from(VALUES.map((v) => `${JSON.stringify(v)}\n`).join('')),
  ])
}

describe('readLineStream with the control server', () => {
  it('hands over the values of a stream in order and resolves when it ends', async () => {
    const big = { type: 'broadcast', content: 'ü'.repeat(300_000) }
    const sent: unknown[] = [{ type: 'watching', seq: 0 }, ...VALUES, big, { last: true }]
    let path = ''
    await control((server) => {
      server.stream('GET', '/v1/watch', (req) => {
        path = `${req.path}?${req.query}`
        return async (out) => {
          for (const v of sent) {
            expect(out.write(v)).toBe(true)
            await out.drain()
          }
        }
      })
    })
    const { values, done } = read('/v1/watch?types=task&since=3')
    await done
    expect(values).toEqual(sent)
    expect(path).toBe('/v1/watch?types=task&since=3')
  })

  it('sees values as they are written, not at the end', async () => {
    let next!: () => void
    await control((server) => {
      server.stream('GET', '/v1/watch', () => async (out) => {
        for (let i = 0; i < 3; i++) {
          out.write({ i })
          await new Promise<void>((resolve) => {
            next = resolve
          })
        }
      })
    })
    let seen = 0
    const waiters: Array<() => void> = []
    const { values, done } = read('/v1/watch', {
      onValue: () => {
        seen++
        for (const w of waiters.splice(0)) w()
      },
    })
    const reach = async (n: number) => {
      while (seen < n) await new Promise<void>((resolve) => waiters.push(resolve))
    }
    await reach(1)
    expect(values).toEqual([{ i: 0 }])
    next()
    await reach(2)
    expect(values).toEqual([{ i: 0 }, { i: 1 }])
    next()
    await reach(3)
    next()
    await done
    expect(values).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }])
  })

  it('turns a refused request into a ClientError with the API message', async () => {
    await control((server) => {
      server.stream('GET', '/v1/watch', () => {
        throw new ApiError(400, 'bad_request', 'since must be a non-negative integer (an event seq)')
      })
    })
    const err = await read('/v1/watch?since=-1').done.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ClientError)
    expect((err as ClientError).message).toBe('since must be a non-negative integer (an event seq)')
  })

  it('reports an unknown endpoint', async () => {
    await control(() => {})
    const err = await read('/v1/nope').done.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ClientError)
    expect((err as ClientError).message).toBe('no such endpoint: GET /v1/nope')
  })

  it('resolves when its signal aborts, and the server sees the client leave', async () => {
    let left!: () => void
    const serverSawAbort = new Promise<void>((resolve) => {
      left = resolve
    })
    await control((server) => {
      server.stream('GET', '/v1/watch', (req) => async (out) => {
        out.write({ hello: true })
        await new Promise<void>((resolve) => req.signal.addEventListener('abort', () => resolve()))
        left()
      })
    })
    const stop = new AbortController()
    const { values, done } = read('/v1/watch', { signal: stop.signal, onValue: () => stop.abort() })
    await done
    await serverSawAbort
    expect(values).toEqual([{ hello: true }])
  })

  it('hands over nothing after its signal aborts', async () => {
    await raw(async (socket) => {
      socket.write('HTTP/1.1 200 OK\r\n\r\n{"n":1}\n{"n":2}\n{"n":3}\n')
    })
    const stop = new AbortController()
    const { values, done } = read('/v1/watch', { signal: stop.signal, onValue: () => stop.abort() })
    await done
    expect(values).toEqual([{ n: 1 }])
  })

  it('resolves at once for a signal that has already aborted', async () => {
    const { heads } = await raw(async () => {})
    const stop = new AbortController()
    stop.abort()
    await read('/v1/watch', { signal: stop.signal }).done
    expect(heads).toEqual([])
  })

  it('says the node is not running when its socket is missing', async () => {
    const err = await read('/v1/watch').done.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ClientError)
    expect((err as ClientError).message).toMatch(/the node test-node is not running/)
  })

  it('resolves when the node stops while streaming', async () => {
    let started!: () => void
    const streaming = new Promise<void>((resolve) => {
      started = resolve
    })
    const server = await control((s) => {
      s.stream('GET', '/v1/watch', (req) => async (out) => {
        out.write({ first: true })
        started()
        await new Promise<void>((resolve) => req.signal.addEventListener('abort', () => resolve()))
      })
    })
    let received!: () => void
    const arrived = new Promise<void>((resolve) => {
      received = resolve
    })
    const { values, done } = read('/v1/watch', { onValue: () => received() })
    await streaming
    await arrived
    await server.close()
    await done
    expect(values).toEqual([{ first: true }])
  })
})

describe('readLineStream framing', () => {
  it('sends one plain GET for the path', async () => {
    const { heads } = await raw(async (socket) => {
      socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
    })
    await read('/v1/watch?since=5').done
    expect(heads).toHaveLength(1)
    const lines = heads[0]!.split('\r\n')
    expect(lines[0]).toBe('GET /v1/watch?since=5 HTTP/1.1')
    expect(lines).toContain('Host: clawlink')
    expect(lines).toContain('Connection: close')
  })

  it('decodes a chunked stream that arrives in one piece', async () => {
    const response = chunkedResponse()
    await raw((socket) => sendParts(socket, [response]))
    const { values, done } = read('/v1/watch')
    await done
    expect(values).toEqual(VALUES)
  })

  it('decodes a chunked stream split at any one byte', async () => {
    const response = chunkedResponse()
    let cut = 1
    await raw((socket) => sendParts(socket, splitAt(response, [cut])))
    for (; cut < response.length; cut++) {
      const { values, done } = read('/v1/watch')
      await done
      expect(values, `split at byte ${cut}`).toEqual(VALUES)
    }
  })

  it('decodes a chunked stream that arrives byte by byte', async () => {
    const response = chunkedResponse()
    await raw((socket) =>
      sendParts(
        socket,
        splitAt(
          response,
          Array.from({ length: response.length }, (_, i) => i),
        ),
      ),
    )
    const { values, done } = read('/v1/watch')
    await done
    expect(values).toEqual(VALUES)
  })

  it('decodes a chunked stream in odd-sized pieces', async () => {
    const response = chunkedResponse()
    for (const step of [2, 3, 5, 7, 11, 13]) {
      const cuts: number[] = []
      for (let at = step; at < response.length; at += step) cuts.push(at)
      const server = await raw((socket) => sendParts(socket, splitAt(response, cuts)))
      const { values, done } = read('/v1/watch')
      await done
      expect(values, `pieces of ${step} bytes`).toEqual(VALUES)
      expect(server.heads).toHaveLength(1)
      // next step: a new server on the same path
      await cleanups.pop()!()
    }
  })

  it('ends at the last chunk even if the connection stays open', async () => {
    await raw(async (socket) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{}\n\n\r\n0\r\n\r\n')
    })
    const { values, done } = read('/v1/watch')
    await done
    expect(values).toEqual([{}])
  })

  it('reads a close-delimited stream, whole and byte by byte', async () => {
    const response = closeDelimitedResponse()
    let bytewise = false
    await raw(async (socket) => {
      await sendParts(
        socket,
        bytewise
          ? splitAt(
              response,
              Array.from({ length: response.length }, (_, i) => i),
            )
          : [response],
      )
      socket.end()
    })
    const whole = read('/v1/watch')
    await whole.done
    expect(whole.values).toEqual(VALUES)
    bytewise = true
    const split = read('/v1/watch')
    await split.done
    expect(split.values).toEqual(VALUES)
  })

  it('rejects a malformed line', async () => {
    await raw(async (socket) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')
      socket.write('5\r\n{}\n{x\r\n')
      socket.write('2\r\n}\n\r\n')
    })
    const { values, done } = read('/v1/watch')
    const err = await done.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ClientError)
    expect((err as ClientError).message).toBe('the node test-node sent a malformed event line')
    expect(values).toEqual([{}])
  })

  it('rejects a malformed chunk size', async () => {
    await raw(async (socket) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\n\r\n')
    })
    const err = await read('/v1/watch').done.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ClientError)
    expect((err as ClientError).message).toBe('the node test-node sent a malformed stream')
  })

  it('rejects an answer that is not HTTP', async () => {
    await raw(async (socket) => {
      socket.write('SSH-2.0-OpenSSH\r\n\r\n')
    })
    const err = await read('/v1/watch').done.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ClientError)
    expect((err as ClientError).message).toBe('the node test-node sent a malformed answer')
  })

  it('rejects an endless response head', async () => {
    await raw(async (socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nX-Pad: ${'a'.repeat(20_000)}`)
    })
    const err = await read('/v1/watch').done.catch((e: unknown) => e)
    expect((err as ClientError).message).toBe('the node test-node sent a malformed answer')
  })

  it('rejects an oversized line', async () => {
    await raw(async (socket) => {
      socket.write('HTTP/1.1 200 OK\r\n\r\n')
      // more than the 8 MiB line bound, with no newline
      const block = Buffer.alloc(1024 * 1024, 0x61)
      for (let i = 0; i < 9 && !socket.destroyed; i++) {
        socket.write(block)
        await turn()
      }
    })
    const err = await read('/v1/watch').done.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ClientError)
    expect((err as ClientError).message).toBe('the node test-node sent an oversized event line')
  })

  it('uses the status when an error answer is not JSON', async () => {
    await raw(async (socket) => {
      socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 7\r\n\r\noh dear')
    })
    const err = await read('/v1/watch').done.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ClientError)
    expect((err as ClientError).message).toBe('HTTP 502')
  })

  it('reads an error message that arrives in pieces', async () => {
    const body = JSON.stringify({ error: { code: 'too_many_watchers', message: 'at most 64 watchers — ✓' } })
    const response = Buffer.from(
      `HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    )
    await raw(async (socket) => {
      await sendParts(
        socket,
        splitAt(
          response,
          Array.from({ length: response.length }, (_, i) => i),
        ),
      )
      socket.end()
    })
    const err = await read('/v1/watch').done.catch((e: unknown) => e)
    expect((err as ClientError).message).toBe('at most 64 watchers — ✓')
  })
})
