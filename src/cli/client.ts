// The CLI's side of the control API: JSON over HTTP on the node's Unix socket.
import { request } from 'node:http'
import type { ApiErrorJson } from '../control/types.js'
import { CliError } from './errors.js'

export interface RequestOptions {
  /** Gives up after this long (ms); long polls pass their wait plus a margin. */
  timeout?: number
}

export class ControlClient {
  constructor(
    readonly socket: string,
    /** How to name the node in errors. */
    readonly label: string,
  ) {}

  get<T>(path: string, opts?: RequestOptions): Promise<T> {
    return this.call<T>('GET', path, undefined, opts)
  }

  post<T>(path: string, body: unknown, opts?: RequestOptions): Promise<T> {
    return this.call<T>('POST', path, body, opts)
  }

  call<T>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    return new Promise<T>((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socket,
          path,
          method,
          headers:
            payload != null ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('error', reject)
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            let json: unknown
            try {
              json = text === '' ? null : JSON.parse(text)
            } catch {
              reject(new CliError(`the node ${this.label} sent a malformed answer`))
              return
            }
            if ((res.statusCode ?? 500) >= 400) {
              const message = (json as ApiErrorJson | null)?.error?.message ?? `HTTP ${res.statusCode}`
              reject(new CliError(message))
              return
            }
            resolve(json as T)
          })
        },
      )
      req.setTimeout(opts.timeout ?? 30_000, () => {
        req.destroy(new CliError(`the node ${this.label} did not answer in time`))
      })
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof CliError) return reject(err)
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
          reject(new CliError(`the node ${this.label} is not running (its control socket does not answer)`))
        } else {
          reject(new CliError(`cannot talk to the node ${this.label}: ${err.message}`))
        }
      })
      req.end(payload)
    })
  }
}
