// Reads V8 .cpuprofile files (the simulation's SIM_CPU_PROF, or node --cpu-prof) and prints where the
// time went: self time by function and by package. `node bench/simulate/profile-top.ts FILE... [--top N]`
import { readFileSync } from 'node:fs'

/** caller frames shown per function (--depth) */
let DEPTH = 3

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}
interface Profile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

/** The package a script belongs to: `@scope/name` or `name` under node_modules, else its kind. */
export function packageOf(url: string): string {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (m != null) return m[1]!
  if (url === '') return '(native / gc / idle)'
  if (url.startsWith('node:')) return 'node:'
  if (url.includes('/dist/')) return 'clawlink (dist)'
  if (url.includes('/bench/')) return 'harness (bench)'
  if (url.includes('/src/')) return 'clawlink (src)'
  return url
}

/** Self time in ms per function and per package, from the samples and their time deltas. */
export function selfTimes(p: Profile) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const parent = parents(p)
  const fn = new Map<string, number>()
  const pkg = new Map<string, number>()
  /** function -> its callers, 3 frames up -> ms */
  const callers = new Map<string, Map<string, number>>()
  let total = 0
  p.samples.forEach((id, i) => {
    const ms = (p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0) / 1000
    const n = byId.get(id)!
    const { functionName, url, lineNumber } = n.callFrame
    total += ms
    const file = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|bench|src)\//, '$1/')
    const key = `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`
    fn.set(key, (fn.get(key) ?? 0) + ms)
    const path: string[] = []
    for (let up = parent.get(n.id); up != null && path.length < DEPTH; up = parent.get(up.id))
      path.push(frameName(up))
    const c = callers.get(key) ?? new Map<string, number>()
    callers.set(key, c)
    c.set(path.join(' < '), (c.get(path.join(' < ')) ?? 0) + ms)
    const k = functionName.startsWith('(') && url === '' ? functionName : packageOf(url)
    pkg.set(k, (pkg.get(k) ?? 0) + ms)
  })
  return { total, fn, pkg, callers }
}

interface Tree extends ProfileNode {
  children?: number[]
}

function parents(p: Profile): Map<number, ProfileNode> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const up = new Map<number, ProfileNode>()
  for (const n of p.nodes as Tree[]) for (const c of n.children ?? []) up.set(c, byId.get(n.id)!)
  return up
}

function frameName(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame
  const file = url.replace(/^.*node_modules\//, '').replace(/^.*\/(dist|bench|src)\//, '$1/')
  return `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`
}

function top(m: Map<string, number>, total: number, n: number): string[] {
  return [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([k, ms]) => `${ms.toFixed(0).padStart(8)} ms ${((ms / total) * 100).toFixed(1).padStart(5)} %  ${k}`,
    )
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2)
  const i = args.indexOf('--top')
  const n = i >= 0 ? Number(args[i + 1]) : 25
  const d = args.indexOf('--depth')
  if (d >= 0) DEPTH = Number(args[d + 1])
  const c0 = args.indexOf('--callers')
  const files = args.filter(
    (_, j) => j !== i && j !== i + 1 && j !== c0 && j !== c0 + 1 && j !== d && j !== d + 1,
  )
  for (const f of files) {
    const p = JSON.parse(readFileSync(f, 'utf8')) as Profile
    const { total, fn, pkg, callers } = selfTimes(p)
    const wall = (p.endTime - p.startTime) / 1000
    console.log(`\n${f}: ${(wall / 1000).toFixed(1)} s wall, ${(total / 1000).toFixed(1)} s sampled`)
    console.log('-- by package (self time)')
    for (const l of top(pkg, total, 15)) console.log(l)
    console.log('-- by function (self time)')
    for (const l of top(fn, total, n)) console.log(l)
    const c = args.indexOf('--callers')
    const k = c >= 0 ? Number(args[c + 1]) : 0
    const heads = [...fn].sort((a, b) => b[1] - a[1]).slice(0, k)
    for (const [name] of heads) {
      console.log(`-- callers of ${name}`)
      for (const l of top(callers.get(name)!, total, 4)) console.log(`  ${l}`)
    }
  }
}
