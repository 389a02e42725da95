// An HTTP/1.1 response read as it arrives: the end of each answer is found by its Content-Length or its
// chunked encoding, so one connection can carry one answer after another (keep-alive). Sizes are bounded.

/** The response ended before it was complete: the peer closed, not a protocol violation. */
export class IncompleteResponse extends Error {
  static override readonly name = 'IncompleteResponse'
  override name = 'IncompleteResponse'
}

/** The bytes break HTTP/1.1 (or our bounds): the node answered badly. */
export class MalformedResponse extends Error {
  static override readonly name: string = 'MalformedResponse'
  override name: string = 'MalformedResponse'
}

/** The body is larger than the reader accepts. */
export class OversizedResponse extends MalformedResponse {
  static override readonly name = 'OversizedResponse'
  override name = 'OversizedResponse'
}

export interface ParsedResponse {
  status: number
  body: Buffer
  /** the connection may carry another request (HTTP/1.1, no `Connection: close`, a delimited body) */
  keepAlive: boolean
  /** how long the server keeps an idle connection (its `Keep-Alive: timeout=N`), in ms */
  idleHintMs?: number
}

/** A status line and headers larger than this are not an answer of the control API. */
export const MAX_HEAD = 64 * 1024
/** A chunk-size or trailer line is short; a longer one is garbage. */
const MAX_LINE = 4 * 1024
const EMPTY = Buffer.alloc(0)

type State = 'head' | 'length' | 'size' | 'data' | 'crlf' | 'trailer' | 'close' | 'done'

export class ResponseParser {
  private state: State = 'head'
  /** bytes of a head or a line that arrived split between packets */
  private pending: Buffer = EMPTY
  private parts: Buffer[] = []
  private size = 0
  /** bytes left in the Content-Length body or the current chunk */
  private left = 0
  private status = 0
  private keepAlive = true
  private idleHintMs?: number
  /** bytes received so far: none means the server never began an answer */
  received = 0
  /** bytes after the end of the answer (a well-behaved server sends none) */
  extra: Buffer = EMPTY

  constructor(private readonly maxBody: number) {}

  /** Feeds the next bytes; returns the answer once it is complete. Throws MalformedResponse. */
  push(chunk: Buffer): ParsedResponse | undefined {
    if (this.state === 'done') {
      this.extra = Buffer.concat([this.extra, chunk])
      return undefined
    }
    this.received += chunk.length
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk
    this.pending = EMPTY
    while (buf.length > 0) {
      switch (this.state) {
        case 'head': {
          const at = buf.indexOf('\r\n\r\n')
          if (at < 0) {
            if (buf.length > MAX_HEAD) throw new MalformedResponse('response head too large')
            this.pending = buf
            return undefined
          }
          this.readHead(buf.subarray(0, at).toString('latin1'))
          buf = buf.subarray(at + 4)
          if ((this.state as State) === 'done') return this.finish(buf)
          break
        }
        case 'length': {
          const take = Math.min(this.left, buf.length)
          this.add(buf.subarray(0, take))
          this.left -= take
          buf = buf.subarray(take)
          if (this.left === 0) return this.finish(buf)
          break
        }
        case 'size':
        case 'trailer': {
          const eol = buf.indexOf('\r\n')
          if (eol < 0) {
            if (buf.length > MAX_LINE) throw new MalformedResponse('chunk line too long')
            this.pending = buf
            return undefined
          }
          const line = buf.subarray(0, eol).toString('latin1')
          buf = buf.subarray(eol + 2)
          if (this.state === 'trailer') {
            // trailers are skipped; an empty line ends the answer
            if (line === '') return this.finish(buf)
            break
          }
          const hex = line.split(';')[0]!.trim()
          const size = /^[0-9a-fA-F]{1,8}$/.test(hex) ? Number.parseInt(hex, 16) : Number.NaN
          if (!Number.isInteger(size)) throw new MalformedResponse('bad chunk size')
          if (size === 0) this.state = 'trailer'
          else {
            this.left = size
            this.state = 'data'
          }
          break
        }
        case 'data': {
          const take = Math.min(this.left, buf.length)
          this.add(buf.subarray(0, take))
          this.left -= take
          buf = buf.subarray(take)
          if (this.left === 0) this.state = 'crlf'
          break
        }
        case 'crlf': {
          if (buf.length < 2) {
            this.pending = buf
            return undefined
          }
          if (buf[0] !== 13 || buf[1] !== 10) throw new MalformedResponse('chunk not followed by CRLF')
          buf = buf.subarray(2)
          this.state = 'size'
          break
        }
        case 'close':
          this.add(buf)
          buf = EMPTY
          break
        default:
          return undefined
      }
    }
    return undefined
  }

  /** The connection ended: the answer if its body runs to the close, else IncompleteResponse. */
  end(): ParsedResponse {
    if (this.state === 'close') return this.finish(EMPTY)
    throw new IncompleteResponse(this.state === 'head' ? 'incomplete response head' : 'truncated body')
  }

  private readHead(text: string): void {
    const lines = text.split('\r\n')
    const m = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0] ?? '')
    if (m == null) throw new MalformedResponse('bad status line')
    this.status = Number(m[2])
    this.keepAlive = m[1] === '1'
    let length: number | undefined
    let chunked = false
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!
      const colon = line.indexOf(':')
      if (colon <= 0) throw new MalformedResponse('bad header line')
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      if (name === 'content-length') {
        const n = /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN
        if (!Number.isSafeInteger(n) || (length != null && length !== n))
          throw new MalformedResponse('bad content-length')
        length = n
      } else if (name === 'transfer-encoding') {
        chunked = /(^|,)\s*chunked\s*$/i.test(value)
      } else if (name === 'connection') {
        if (/(^|,)\s*close\s*(,|$)/i.test(value)) this.keepAlive = false
      } else if (name === 'keep-alive') {
        const t = /timeout=(\d+)/i.exec(value)?.[1]
        if (t != null) this.idleHintMs = Number(t) * 1000
      }
    }
    if (chunked) this.state = 'size'
    else if (length != null) {
      if (length > this.maxBody) throw new OversizedResponse(`response body over ${this.maxBody} bytes`)
      this.left = length
      this.state = length === 0 || this.status === 204 || this.status === 304 ? 'done' : 'length'
    } else if (this.status === 204 || this.status === 304) this.state = 'done'
    else {
      // no length: the body runs until the server closes, so the connection cannot carry another
      this.keepAlive = false
      this.state = 'close'
    }
  }

  private add(part: Buffer): void {
    this.size += part.length
    if (this.size > this.maxBody) throw new OversizedResponse(`response body over ${this.maxBody} bytes`)
    this.parts.push(part)
  }

  private finish(rest: Buffer): ParsedResponse {
    this.state = 'done'
    this.extra = rest
    const body = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts)
    this.parts = []
    return { status: this.status, body, keepAlive: this.keepAlive, idleHintMs: this.idleHintMs }
  }
}

/** Splits a complete HTTP/1.1 response (Content-Length, chunked, or read to the close) into status and text. */
export function parseResponse(raw: Buffer): { status: number; body: string } {
  const parser = new ResponseParser(Number.POSITIVE_INFINITY)
  const res = parser.push(raw) ?? parser.end()
  return { status: res.status, body: res.body.toString('utf8') }
}
