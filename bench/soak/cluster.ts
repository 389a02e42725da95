// The soak's nodes: real `clawlink node` processes on loopback, each with its own data dir and a fixed
// port, so one that is SIGKILLed comes back on the same address, with the same identity and store.
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ControlClient } from '../../dist/client/control-client.js'
import { dataDirPaths } from '../../dist/home/paths.js'

export const BIN = fileURLToPath(new URL('../../bin/clawlink.js', import.meta.url))

/** How many of a node's last output lines are kept for a failure report. */
const TAIL_LINES = 40
const START_TIMEOUT = 30_000
const STOP_GRACE = 15_000

/** A TCP port on loopback that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

/** Resident set size of a live process in MiB (Linux), or undefined once it is gone. */
export function rssMiB(pid: number | undefined): number | undefined {
  if (pid == null) return undefined
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb == null ? undefined : Number(kb) / 1024
  } catch {
    return undefined
  }
}

export class SoakNode {
  readonly api: ControlClient
  readonly dataDir: string
  peerId = ''
  /** bumped when a process ends: an agent that sees it change knows its node lost what was in flight */
  generation = 0
  kills = 0
  /** exits we did not cause */
  crashes: string[] = []
  private proc?: ChildProcess
  private exited?: Promise<void>
  private killing = false
  private readonly tail: string[] = []
  /** everything the node prints, across restarts, for a post-mortem */
  private readonly logFile: WriteStream

  readonly index: number
  readonly name: string
  readonly port: number
  private readonly env: NodeJS.ProcessEnv

  // no parameter properties: bench files run with Node's type stripping
  constructor(index: number, name: string, port: number, home: string, env: NodeJS.ProcessEnv) {
    this.index = index
    this.name = name
    this.port = port
    this.env = env
    this.dataDir = join(home, 'agents', name)
    this.logFile = createWriteStream(join(home, `${name}.log`), { flags: 'a', mode: 0o600 })
    this.api = new ControlClient(dataDirPaths(this.dataDir).socket, name, { keepAlive: true })
  }

  get pid(): number | undefined {
    return this.proc?.pid
  }

  get up(): boolean {
    return this.proc != null && this.proc.exitCode == null && this.proc.signalCode == null
  }

  /** Its dialable address (known once it has started). */
  addr(): string {
    return `/ip4/127.0.0.1/tcp/${this.port}/p2p/${this.peerId}`
  }

  /** The last lines it printed, for a failure report. */
  output(): string {
    return this.tail.join('\n')
  }

  /** Starts the node and resolves once it reports `started`; `peers` are dialled and redialled. */
  start(peers: string[]): Promise<void> {
    const args = [
      BIN,
      'node',
      '--json',
      '--name',
      this.name,
      '--data-dir',
      this.dataDir,
      '--listen',
      `/ip4/127.0.0.1/tcp/${this.port}`,
      // the agents answer at once, but a node down for a while gets a burst when it comes back
      '--max-inbox',
      '100000',
      ...peers.flatMap((p) => ['--peer', p]),
    ]
    const proc = spawn(process.execPath, args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] })
    this.proc = proc
    this.killing = false
    this.logFile.write(`--- ${new Date().toISOString()} start (generation ${this.generation})\n`)
    this.exited = new Promise((resolve) => proc.once('close', () => resolve()))
    return new Promise((resolve, reject) => {
      let started = false
      const timer = setTimeout(() => {
        proc.kill('SIGKILL')
        reject(new Error(`${this.name} did not start in ${START_TIMEOUT} ms:\n${this.output()}`))
      }, START_TIMEOUT)
      let buffered = ''
      proc.stdout!.on('data', (d: Buffer) => {
        buffered += d.toString()
        let nl = buffered.indexOf('\n')
        while (nl >= 0) {
          const line = buffered.slice(0, nl)
          buffered = buffered.slice(nl + 1)
          nl = buffered.indexOf('\n')
          if (line === '') continue
          this.keep(line)
          if (!started && line.includes('"event":"started"')) {
            const event = JSON.parse(line) as { peerId: string }
            started = true
            clearTimeout(timer)
            if (this.peerId !== '' && this.peerId !== event.peerId) {
              reject(new Error(`${this.name} came back as ${event.peerId}, not ${this.peerId}`))
              return
            }
            this.peerId = event.peerId
            resolve()
          }
        }
      })
      proc.stderr!.on('data', (d: Buffer) => {
        for (const line of d.toString().split('\n')) if (line !== '') this.keep(`stderr: ${line}`)
      })
      proc.once('close', (code, signal) => {
        // even a process that died while starting may have taken requests (its socket listens first)
        this.generation++
        clearTimeout(timer)
        if (!started)
          reject(new Error(`${this.name} exited (${code ?? signal}) before starting:\n${this.output()}`))
        else if (!this.killing)
          this.crashes.push(`${this.name} exited by itself (${code ?? signal}):\n${this.output()}`)
      })
    })
  }

  /** SIGKILL: no leave, no flush; whatever was in flight is cut. */
  async kill(): Promise<void> {
    if (!this.up) return
    this.killing = true
    this.kills++
    this.logFile.write(`--- ${new Date().toISOString()} SIGKILL\n`)
    this.proc!.kill('SIGKILL')
    await this.exited
  }

  /** A clean stop (SIGTERM; SIGKILL if it hangs). */
  async stop(): Promise<void> {
    if (!this.up) return
    this.killing = true
    const timer = setTimeout(() => this.proc?.kill('SIGKILL'), STOP_GRACE)
    this.proc!.kill('SIGTERM')
    await this.exited
    clearTimeout(timer)
  }

  /** Closes its log file (after its last stop). */
  closeLog(): Promise<void> {
    return new Promise((resolve) => this.logFile.end(resolve))
  }

  private keep(line: string): void {
    this.logFile.write(`${line}\n`)
    this.tail.push(line.length > 500 ? `${line.slice(0, 500)}...` : line)
    if (this.tail.length > TAIL_LINES) this.tail.shift()
  }
}
