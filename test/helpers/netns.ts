// Two subnets built from network namespaces, for tests and benchmarks: subnet A (198.18.1.0/24) with
// two hosts on one bridge, subnet B (198.19.1.0/24) with one host, and a relay host with a leg in each.
// There is no route between A and B. Only node builtins here: the benchmarks load this file directly.
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'

export const ADDR = {
  a1: '198.18.1.11',
  a2: '198.18.1.12',
  b1: '198.19.1.21',
  rA: '198.18.1.254',
  rB: '198.19.1.254',
}

export interface Topology {
  ns: { sw: string; a1: string; a2: string; b1: string; r: string }
  /** argv prefix that runs a command inside a namespace */
  exec(ns: string): string[]
  remove(): void
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' })
}

/** Why namespaces cannot be used here, or undefined if they can. */
export function namespacesUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root'
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 (ip) is not installed'
  const probe = `clp${randomBytes(2).toString('hex')}`
  if (spawnSync('ip', ['netns', 'add', probe]).status !== 0) return 'cannot create network namespaces here'
  spawnSync('ip', ['netns', 'del', probe])
  return undefined
}

export function buildTopology(): Topology {
  const id = randomBytes(2).toString('hex')
  const ns = { sw: `cl${id}sw`, a1: `cl${id}a1`, a2: `cl${id}a2`, b1: `cl${id}b1`, r: `cl${id}r` }
  const legs = ['a1', 'a2', 'b1', 'rA', 'rB']
  const remove = () => {
    for (const n of Object.values(ns)) spawnSync('ip', ['netns', 'del', n])
    // a leg left in the root namespace by a setup that failed half way
    for (const tag of legs) spawnSync('ip', ['link', 'del', `h${id}${tag}`])
  }
  const leg = (tag: string, host: string, dev: string, bridge: string, addr: string) => {
    const a = `h${id}${tag}`
    const b = `s${id}${tag}`
    ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b)
    ip('link', 'set', a, 'netns', host)
    ip('link', 'set', b, 'netns', ns.sw)
    ip('-n', ns.sw, 'link', 'set', b, 'master', bridge)
    ip('-n', ns.sw, 'link', 'set', b, 'up')
    ip('-n', host, 'link', 'set', a, 'name', dev)
    ip('-n', host, 'addr', 'add', `${addr}/24`, 'dev', dev)
    ip('-n', host, 'link', 'set', dev, 'up')
  }
  try {
    for (const n of Object.values(ns)) {
      ip('netns', 'add', n)
      ip('-n', n, 'link', 'set', 'lo', 'up')
    }
    for (const br of ['brA', 'brB']) {
      ip('-n', ns.sw, 'link', 'add', br, 'type', 'bridge')
      ip('-n', ns.sw, 'link', 'set', br, 'up')
    }
    leg('a1', ns.a1, 'eth0', 'brA', ADDR.a1)
    leg('a2', ns.a2, 'eth0', 'brA', ADDR.a2)
    leg('b1', ns.b1, 'eth0', 'brB', ADDR.b1)
    leg('rA', ns.r, 'ethA', 'brA', ADDR.rA)
    leg('rB', ns.r, 'ethB', 'brB', ADDR.rB)
    // a default route on each agent's only interface gives mDNS multicast a way out; the relay host
    // does not forward (ip_forward is 0 in a new namespace), so A and B meet only through the relay
    for (const n of [ns.a1, ns.a2, ns.b1]) ip('-n', n, 'route', 'add', 'default', 'dev', 'eth0')
  } catch (err) {
    remove()
    throw err
  }
  return { ns, exec: (n) => ['ip', 'netns', 'exec', n], remove }
}
