// The CLI tells a node that went away mid-answer from one that answered badly.
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ControlClient } from '../../src/client/control-client.js'

let base: string
let server: Server | undefined
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'clawlink-client-'))
})
afterEach(async () => {
  await new Promise<void>((r) => (server != null ? server.close(() => r()) : r()))
  server = undefined
  rmSync(base, { recursive: true, force: true })
})

/** A fake node: once the request head arrives, `answer` does what it likes with the connection. */
async function fakeNode(answer: (s: Socket) => void): Promise<ControlClient> {
  const sock = join(base, 'control.sock')
  server = createServer((s) => {
    let seen = ''
    s.on('data', (d: Buffer) => {
      seen += d.toString()
      if (seen.includes('\r\n\r\n')) answer(s)
    })
    s.on('error', () => {})
  })
  await new Promise<void>((r) => server!.listen(sock, r))
  return new ControlClient(sock, 'alice')
}

const WENT_AWAY = 'the node alice went away while answering (it stopped or crashed); is it still running?'

describe('ControlClient when the node dies mid-request', () => {
  it('says the node went away when it closes before any answer', async () => {
    const client = await fakeNode((s) => s.end())
    await expect(client.get('/v1/poll')).rejects.toThrow(WENT_AWAY)
  })

  it('says the node went away when the body is cut short', async () => {
    const client = await fakeNode((s) =>
      s.end('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[{"ev'),
    )
    await expect(client.get('/v1/poll')).rejects.toThrow(WENT_AWAY)
  })

  it('says the node went away when a chunked body stops mid-chunk or before its last chunk', async () => {
    const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
    let client = await fakeNode((s) => s.end(`${head}20\r\n[{"event":`))
    await expect(client.get('/v1/poll')).rejects.toThrow(WENT_AWAY)
    await new Promise<void>((r) => server!.close(() => r()))
    client = await fakeNode((s) => s.end(`${head}2\r\n[]\r\n`))
    await expect(client.get('/v1/poll')).rejects.toThrow(WENT_AWAY)
  })

  it('says the node went away when it dies in the middle of the head', async () => {
    const client = await fakeNode((s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-')
      s.destroy()
    })
    await expect(client.get('/v1/poll')).rejects.toThrow(WENT_AWAY)
  })

  it('keeps "malformed answer" for a complete answer that breaks the protocol', async () => {
    let client = await fakeNode((s) => s.end('SMTP ready\r\n\r\n'))
    await expect(client.get('/v1/status')).rejects.toThrow('the node alice sent a malformed answer')
    await new Promise<void>((r) => server!.close(() => r()))
    client = await fakeNode((s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{oops'))
    await expect(client.get('/v1/status')).rejects.toThrow('the node alice sent a malformed answer')
  })

  it('still reads a complete answer', async () => {
    const client = await fakeNode((s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{"ok":true}'))
    await expect(client.get('/v1/status')).resolves.toEqual({ ok: true })
  })
})
