// Judges a soak run: the agents' ledgers against what every node holds once the mesh has settled.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { BroadcastJson, FileGetResponse, FileJson, TaskJson } from '../../dist/api/types.js'
import { expectedResult, type SoakAgent, sleep, TOPIC } from './agent.ts'
import type { SoakNode } from './cluster.ts'

const KNOWLEDGE_LIMIT = 10_000
const PARALLEL = 8
const MAX_LISTED = 20

/** Runs `fn` over `items`, at most `limit` at a time. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

export interface TaskTally {
  sent: number
  completed: number
  lost: number
  duplicates: number
  /** tasks handed to this agent by poll */
  polled: number
  /** tasks handed out again after a kill, from the last poll answer before it (the allowed window) */
  repeatedAfterKill: number
  /** tasks this agent answered because the open-task listing after a restart showed them */
  recovered: number
  /** delegate requests cut by a kill that the node had stored */
  recoveredDelegations: number
  /** delegate requests cut by a kill before the node stored them (never sent) */
  uncommitted: number
}

export interface Verdict {
  tasks: TaskTally[]
  /** per node: broadcasts it sent and how many of the run's broadcasts it holds */
  broadcasts: Array<{ sent: number; held: number; missing: number }>
  /** every broadcast any node holds */
  broadcastTotal: number
  /** per node: keys in its file map */
  fileKeys: number[]
  failures: string[]
}

const fileLine = (f: FileJson) => `${f.version} ${f.sha256} ${f.deleted ? 'deleted' : 'live'} ${f.author.id}`

async function broadcastIds(node: SoakNode): Promise<Set<string>> {
  const list = await node.api.get<BroadcastJson[]>(`/v1/knowledge?topic=${TOPIC}&limit=${KNOWLEDGE_LIMIT}`)
  return new Set(list.map((b) => b.id))
}

async function fileMap(node: SoakNode): Promise<Map<string, string>> {
  const list = await node.api.get<FileJson[]>('/v1/files?all=1')
  return new Map(list.map((f) => [f.key, fileLine(f)]))
}

function sameMap(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false
  for (const [k, v] of a) if (b.get(k) !== v) return false
  return true
}

/**
 * What still keeps the mesh from being settled, judged cheaply from the ledgers and two listings per
 * node; empty once every task has its final update, every node holds every broadcast and the file maps
 * agree.
 */
export async function outstanding(agents: SoakAgent[], nodes: SoakNode[]): Promise<string[]> {
  const left: string[] = []
  for (const a of agents) {
    await a.reconcileDelegations()
    if (a.pendingDelegations > 0)
      left.push(
        `${a.name}: ${a.pendingDelegations} cut delegations unresolved: ${a.pendingDetails().join('; ')}`,
      )
    if (a.unanswered > 0) left.push(`${a.name}: ${a.unanswered} received tasks not answered yet`)
    let waiting = 0
    for (const id of a.delegated.keys()) if (!a.finals.has(id)) waiting++
    if (waiting > 0) left.push(`${a.name}: ${waiting} delegated tasks without a final update`)
  }
  const sets = await Promise.all(nodes.map(broadcastIds))
  const all = new Set(sets.flatMap((s) => [...s]))
  for (const a of agents) for (const id of a.broadcasts) all.add(id)
  sets.forEach((s, i) => {
    if (s.size !== all.size) left.push(`${nodes[i]!.name}: holds ${s.size} of ${all.size} broadcasts`)
  })
  const maps = await Promise.all(nodes.map(fileMap))
  maps.forEach((m, i) => {
    if (!sameMap(m, maps[0]!)) left.push(`${nodes[i]!.name}: file map differs from ${nodes[0]!.name}'s`)
  })
  return left
}

/** The full judgement: every task on both of its nodes, every broadcast, every file and its content. */
export async function verify(agents: SoakAgent[], nodes: SoakNode[]): Promise<Verdict> {
  const failures: string[] = []
  const fail = (m: string) => {
    if (failures.length < 200) failures.push(m)
  }
  const tasks: TaskTally[] = agents.map((a) => ({
    sent: a.delegated.size,
    completed: 0,
    lost: 0,
    duplicates: 0,
    polled: a.polled.size,
    repeatedAfterKill: a.repeatedAfterKill,
    recovered: a.recovered.size,
    recoveredDelegations: a.recoveredDelegations,
    uncommitted: a.uncommitted,
  }))

  // every delegated task: final once on its delegator, known and answered on its receiver, handed once
  const allDelegated = new Map<string, number>()
  for (const [i, a] of agents.entries()) for (const id of a.delegated.keys()) allDelegated.set(id, i)
  await mapLimit([...allDelegated], PARALLEL, async ([id, from]) => {
    const sender = agents[from]!
    const d = sender.delegated.get(id)!
    const receiver = agents[d.to]!
    const tally = tasks[from]!
    const problems: string[] = []
    const sent = (await sender.node.api.get<TaskJson[]>(`/v1/tasks?id=${id}`)).find(
      (t) => t.direction === 'sent',
    )
    if (sent == null) problems.push(`not on its delegator ${sender.name}`)
    else if (sent.state !== 'completed') problems.push(`${sent.state} on its delegator`)
    else if (sent.result !== expectedResult(id, receiver.name))
      problems.push(`wrong result on its delegator: ${JSON.stringify(sent.result)}`)
    const got = (await receiver.node.api.get<TaskJson[]>(`/v1/tasks?id=${id}`)).find(
      (t) => t.direction === 'received',
    )
    if (got == null) problems.push(`unknown to its receiver ${receiver.name}`)
    else if (got.state !== 'completed') problems.push(`${got.state} on its receiver`)
    const handed = (receiver.polled.get(id) ?? 0) + (receiver.recovered.has(id) ? 1 : 0)
    if (handed === 0) problems.push(`never handed to ${receiver.name}'s agent`)
    const finals = sender.finals.get(id) ?? 0
    if (finals === 0) problems.push(`its final update never reached ${sender.name}'s agent`)
    if (problems.length > 0) {
      tally.lost++
      fail(`task ${id} (${d.token}, ${sender.name} -> ${receiver.name}): ${problems.join('; ')}`)
    } else {
      tally.completed++
    }
    const polled = receiver.polled.get(id) ?? 0
    if (polled > 1 || finals > 1) {
      tally.duplicates++
      fail(`task ${id} (${d.token}): handed to the receiver ${polled} times, final update ${finals} times`)
    }
  })
  // nothing may turn up that no agent delegated
  for (const a of agents) {
    for (const id of a.polled.keys())
      if (!allDelegated.has(id)) fail(`${a.name} was handed task ${id}, which no agent delegated`)
    for (const id of a.finals.keys())
      if (!a.delegated.has(id)) fail(`${a.name} got a final update for task ${id}, which it did not delegate`)
  }

  // broadcasts: every node holds every one of the run's
  const sets = await Promise.all(nodes.map(broadcastIds))
  const all = new Set(sets.flatMap((s) => [...s]))
  for (const a of agents) for (const id of a.broadcasts) all.add(id)
  const broadcasts = nodes.map((node, i) => {
    const missing = [...all].filter((id) => !sets[i]!.has(id))
    if (missing.length > 0)
      fail(`${node.name} lacks ${missing.length} broadcasts: ${missing.slice(0, MAX_LISTED).join(', ')}`)
    return { sent: agents[i]!.broadcasts.size, held: sets[i]!.size, missing: missing.length }
  })

  // files: one map everywhere, and every live version's content present and intact on every node
  const maps = await Promise.all(nodes.map(fileMap))
  const keys = new Set(maps.flatMap((m) => [...m.keys()]))
  for (const [i, m] of maps.entries()) {
    const differ = [...keys].filter((k) => m.get(k) !== maps[0]!.get(k))
    if (differ.length > 0) {
      fail(
        `${nodes[i]!.name}'s file map differs from ${nodes[0]!.name}'s: ` +
          differ
            .slice(0, MAX_LISTED)
            .map((k) => `${k} (${m.get(k) ?? 'absent'} vs ${maps[0]!.get(k) ?? 'absent'})`)
            .join(', '),
      )
    }
  }
  for (const [i, node] of nodes.entries()) {
    const live = [...maps[i]!].filter(([, line]) => line.includes(' live '))
    await mapLimit(live, PARALLEL, async ([key, line]) => {
      const sha = line.split(' ')[1]
      try {
        const got = await node.api.post<FileGetResponse>('/v1/files/get', { key }, { timeout: 60_000 })
        const actual = createHash('sha256')
          .update(await readFile(got.path))
          .digest('hex')
        if (got.file.sha256 !== sha || actual !== sha)
          fail(`${node.name}: the content of ${key} hashes to ${actual}, not ${sha}`)
      } catch (err) {
        fail(`${node.name}: cannot get ${key}: ${(err as Error).message}`)
      }
    })
  }

  return { tasks, broadcasts, broadcastTotal: all.size, fileKeys: maps.map((m) => m.size), failures }
}

/** Waits (bounded) until nothing is outstanding; returns what still was at the deadline. */
export async function settle(
  agents: SoakAgent[],
  nodes: SoakNode[],
  timeoutMs: number,
): Promise<{ ms: number; left: string[] }> {
  const t0 = Date.now()
  let left: string[] = []
  for (;;) {
    try {
      left = await outstanding(agents, nodes)
    } catch (err) {
      left = [(err as Error).message]
    }
    if (left.length === 0 || Date.now() - t0 >= timeoutMs) return { ms: Date.now() - t0, left }
    await sleep(1_000)
  }
}
