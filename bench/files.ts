// Issue 5 figures: moving a large shared file between two nodes, beside a raw TCP transfer and a bare
// libp2p stream transfer of the same size measured in the same run.
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FileGetResponse } from '../dist/api/types.js'
import { ControlClient } from '../dist/client/control-client.js'
import { dataDirPaths } from '../dist/home/paths.js'
import { libp2pBulk, load, tcpBulk } from './baselines.ts'
import { type BenchNode, printTable, round, saveResult, spawnNode, world } from './lib.ts'

const SIZE_MIB = Number(process.env.BENCH_FILE_MIB ?? 256)
const SMALL_FILES = Number(process.env.BENCH_SMALL_FILES ?? 1000)

export async function runFilesBench(): Promise<void> {
  const w = world()
  const listen = ['--listen', '/ip4/127.0.0.1/tcp/0']
  const a = await spawnNode(['--name', 'files-a', ...listen], w.env)
  const b = await spawnNode(['--name', 'files-b', ...listen], w.env)
  let lateNode: BenchNode | undefined
  try {
    await b.waitEvent((e) => e.event === 'peer_online')
    const apiA = new ControlClient(dataDirPaths(`${w.home}/agents/files-a`).socket, 'files-a')
    const apiB = new ControlClient(dataDirPaths(`${w.home}/agents/files-b`).socket, 'files-b')
    const bytes = SIZE_MIB * 1024 * 1024
    const path = join(w.home, 'payload.bin')
    const rows: Array<Record<string, string | number>> = []
    for (let run = 0; run < 3; run++) {
      // new content each run: blobs are content-addressed, so a repeat would not move at all
      writeFileSync(path, Buffer.concat(Array.from({ length: SIZE_MIB }, () => randomBytes(1024 * 1024))))
      const key = `bench/payload-${run}.bin`
      const t0 = performance.now()
      await apiA.post('/v1/files/put', { key, path }, { timeout: 600_000 })
      const putSecs = (performance.now() - t0) / 1000
      await b.waitEvent((e) => e.event === 'file_updated' && e.key === key)
      const t1 = performance.now()
      await apiB.post<FileGetResponse>('/v1/files/get', { key }, { timeout: 600_000 })
      const getSecs = (performance.now() - t1) / 1000
      const tcp = await tcpBulk(bytes)
      const p2p = await libp2pBulk(bytes)
      const fetch = SIZE_MIB / getSecs
      rows.push({
        run: run + 1,
        'put (import+hash) MiB/s': round(SIZE_MIB / putSecs),
        'fetch MiB/s': round(fetch),
        'libp2p stream MiB/s': round(p2p),
        'tcp MiB/s': round(tcp),
        'fetch / libp2p': round(fetch / p2p, 2),
        'fetch / tcp': round(fetch / tcp, 3),
      })
    }
    printTable(
      `A ${SIZE_MIB} MiB shared file: put on one node, fetched by another (separate processes, loopback)`,
      rows,
    )

    // many small files, then a node that joins late and must converge on all of them (entries and content)
    const small = join(w.home, 'small')
    const seeding = await load(SMALL_FILES, 16, async (i) => {
      const p = `${small}-${i}.txt`
      writeFileSync(p, `small file ${i} ${randomBytes(64).toString('hex')}\n`)
      await apiA.post('/v1/files/put', { key: `small/f${i}.txt`, path: p })
    })
    const late = await spawnNode(['--name', 'files-late', ...listen], w.env)
    lateNode = late
    let convergedAt = 0
    for (let i = 0; i < 1200 && convergedAt === 0; i++) {
      const fetched = late.events.filter((e) => e.event === 'blob_fetched').length
      if (fetched >= SMALL_FILES) convergedAt = Date.now()
      else await new Promise((r) => setTimeout(r, 50))
    }
    if (convergedAt === 0) throw new Error('the late node did not converge in 60 s')
    const startedAt = Date.parse(late.events.find((e) => e.event === 'started')!.time as string)
    const converge = [
      {
        files: SMALL_FILES,
        'puts/s while seeding': round(seeding.perSecond),
        'late node holds all entries and content, from spawn ms': convergedAt - late.spawnedAt,
        'from its start ms': convergedAt - startedAt,
      },
    ]
    printTable('Small files converging on a node that joins late', converge)
    saveResult('files', { sizeMiB: SIZE_MIB, runs: rows, converge })
  } finally {
    await Promise.all([a.stop(), b.stop(), lateNode?.stop()])
    w.cleanup()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runFilesBench()
