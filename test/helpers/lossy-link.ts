// Two network namespaces joined by a slow, lossy point-to-point link: one-way delay and random loss on
// every packet, so TCP in each namespace sees the round-trip time and the losses. With netem in the
// kernel it is a veth pair with a netem qdisc on each end; without it (this project's CI kernel has
// no netem), a userspace emulator (link-emulator.py) forwards packets between two TUN devices.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const EMULATOR = fileURLToPath(new URL('./link-emulator.py', import.meta.url))
/** packets queued per direction before tail drop (a router's buffer: about a second at 1 Mbit/s) */
const QUEUE = 100

export interface LossyLinkOptions {
  /** one-way delay in ms (the round-trip time is twice this) */
  delayMs: number
  /** probability that a packet is lost, per direction */
  loss: number
  /** bandwidth per direction, bytes/s (unlimited if absent or 0) */
  rate?: number
}

export interface LossyLink {
  kind: 'netem' | 'tun'
  ns: { a: string; b: string }
  addr: { a: string; b: string }
  /** argv prefix that runs a command inside a namespace */
  exec(ns: string): string[]
  /** changes the bandwidth of both directions (bytes/s, 0 for unlimited) */
  setRate(rate: number): void
  remove(): Promise<void>
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' })
}

function netem(ns: string, o: LossyLinkOptions): void {
  const rate = o.rate ? ['rate', `${Math.round((o.rate * 8) / 1000)}kbit`] : []
  // a netem change leaves out what is not given (a rate once set stays): replace the qdisc instead
  spawnSync('tc', ['-n', ns, 'qdisc', 'del', 'dev', 'link0', 'root'], { stdio: 'ignore' })
  execFileSync('tc', [
    ...['-n', ns, 'qdisc', 'add', 'dev', 'link0', 'root', 'netem'],
    ...['delay', `${o.delayMs}ms`, 'loss', `${o.loss * 100}%`, ...rate, 'limit', String(QUEUE)],
  ])
}

function netemWorks(): boolean {
  spawnSync('modprobe', ['sch_netem'], { stdio: 'ignore' })
  const probe = `clq${randomBytes(2).toString('hex')}`
  if (spawnSync('ip', ['netns', 'add', probe]).status !== 0) return false
  try {
    return (
      spawnSync('ip', ['-n', probe, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1']).status ===
        0 &&
      spawnSync('tc', ['-n', probe, 'qdisc', 'add', 'dev', 'p0', 'root', 'netem', 'delay', '1ms']).status ===
        0
    )
  } finally {
    spawnSync('ip', ['netns', 'del', probe])
  }
}

/** Whether python3 can make a TUN device here (the emulator's first step). */
function tunWorks(): boolean {
  if (!existsSync('/dev/net/tun')) return false
  const probe = [
    'import fcntl, os, struct',
    "fd = os.open('/dev/net/tun', os.O_RDWR)",
    `fcntl.ioctl(fd, 0x400454CA, struct.pack('16sH', b'clp${randomBytes(2).toString('hex')}', 0x1001))`,
  ].join('\n')
  return spawnSync('python3', ['-c', probe], { stdio: 'ignore' }).status === 0
}

/** Why a lossy link cannot be built here, or undefined if it can. */
export function lossyLinkUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root'
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 (ip) is not installed'
  const probe = `clp${randomBytes(2).toString('hex')}`
  if (spawnSync('ip', ['netns', 'add', probe]).status !== 0) return 'cannot create network namespaces here'
  spawnSync('ip', ['netns', 'del', probe])
  if (netemWorks() || tunWorks()) return undefined
  return 'the kernel has no netem and there is no /dev/net/tun with python3 for the userspace emulator'
}

/**
 * Builds the link: namespace a at 198.18.<n>.1, b at 198.18.<n>.2. Prefers netem; CLAWLINK_LINK=tun
 * forces the userspace emulator.
 */
export async function buildLossyLink(opts: LossyLinkOptions): Promise<LossyLink> {
  const id = randomBytes(2).toString('hex')
  const net = 100 + (randomBytes(1)[0]! % 100)
  const ns = { a: `cl${id}la`, b: `cl${id}lb` }
  const addr = { a: `198.18.${net}.1`, b: `198.18.${net}.2` }
  const devA = `t${id}a`
  const devB = `t${id}b`
  const kind = process.env.CLAWLINK_LINK !== 'tun' && netemWorks() ? 'netem' : 'tun'
  let emulator: ChildProcess | undefined
  const remove = async () => {
    if (emulator != null && emulator.exitCode == null && emulator.signalCode == null) {
      const gone = new Promise((r) => emulator!.once('close', r))
      emulator.kill('SIGTERM')
      await gone
    }
    for (const n of Object.values(ns)) spawnSync('ip', ['netns', 'del', n])
    // a device left in the root namespace by a setup that failed half way
    for (const d of [devA, devB]) spawnSync('ip', ['link', 'del', d], { stdio: 'ignore' })
  }
  try {
    for (const n of Object.values(ns)) {
      ip('netns', 'add', n)
      ip('-n', n, 'link', 'set', 'lo', 'up')
    }
    if (kind === 'netem') {
      ip('link', 'add', devA, 'type', 'veth', 'peer', 'name', devB)
    } else {
      emulator = spawn(
        'python3',
        [
          EMULATOR,
          '--dev-a',
          devA,
          '--dev-b',
          devB,
          '--delay-ms',
          String(opts.delayMs),
          '--loss',
          String(opts.loss),
          '--rate',
          String(opts.rate ?? 0),
          '--queue',
          String(QUEUE),
        ],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      )
      let err = ''
      emulator.stderr!.on('data', (d: Buffer) => {
        err += d.toString()
      })
      await new Promise<void>((resolve, reject) => {
        emulator!.stdout!.once('data', (d: Buffer) =>
          d.toString().startsWith('ready') ? resolve() : reject(new Error(`link emulator: ${d}`)),
        )
        emulator!.once('close', (code) => reject(new Error(`link emulator exited with ${code}: ${err}`)))
      })
      emulator.stdout!.on('data', (d: Buffer) => {
        if (process.env.CLAWLINK_LINK_STATS != null) process.stderr.write(`link: ${d}`)
      })
    }
    for (const [dev, n, mine, theirs] of [
      [devA, ns.a, addr.a, addr.b],
      [devB, ns.b, addr.b, addr.a],
    ] as const) {
      ip('link', 'set', dev, 'netns', n)
      ip('-n', n, 'link', 'set', dev, 'name', 'link0')
      ip('-n', n, 'addr', 'add', mine, 'peer', `${theirs}/32`, 'dev', 'link0')
      ip('-n', n, 'link', 'set', 'link0', 'up')
      if (kind === 'netem') netem(n, opts)
    }
  } catch (err) {
    await remove()
    throw err
  }
  const setRate = (rate: number) => {
    if (kind === 'netem') for (const n of Object.values(ns)) netem(n, { ...opts, rate })
    else emulator!.stdin!.write(`rate ${rate}\n`)
  }
  return { kind, ns, addr, exec: (n) => ['ip', 'netns', 'exec', n], setRate, remove }
}
