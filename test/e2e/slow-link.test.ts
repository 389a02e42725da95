// Two agents on a slow, lossy path: 300 ms round trip, 5 % packet loss each way, 40 KB/s then uncapped, emulated
// per packet (netem, or a userspace TUN emulator where the kernel has no netem) between two network
// namespaces. Files of 1 MiB and 5 MiB must arrive, and the one connection must stay up the whole time:
// a transfer then takes tens of seconds, longer than any fixed per-range timeout or ping deadline allowed.
// Needs root, iproute2 and netem or /dev/net/tun with python3; skipped, with the reason printed, otherwise.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FileJson, StatusJson } from '../../src/api/types.js'
import { agentMesh, cli, cliJson, eventually, type NodeProcess, spawnNode } from '../helpers/cli.js'
import { buildLossyLink, type LossyLink, lossyLinkUnavailable } from '../helpers/lossy-link.js'

const skipReason = lossyLinkUnavailable()
if (skipReason != null) console.warn(`slow-link test skipped: ${skipReason}`)

describe.skipIf(skipReason != null)(
  'two agents over a 300 ms RTT, 5 % loss, 40 KB/s then uncapped link',
  () => {
    const dirs: string[] = []
    const procs: NodeProcess[] = []
    const agent = agentMesh(dirs)
    const a = agent('far-a')
    const b = agent('far-b')
    let link: LossyLink
    let aId = ''
    let bId = ''
    // every connection b had to a, by its opening time, sampled while the test runs
    const opened = new Set<string>()
    let watch: ReturnType<typeof setInterval> | undefined

    const connectionsToA = async () =>
      (await cliJson<StatusJson>(['status'], b.env)).connections.filter((c) => c.peer === aId)

    beforeAll(async () => {
      link = await buildLossyLink({ delayMs: 150, loss: 0.05, rate: 40_000 })
      console.log(`slow-link test: ${link.kind} link, ${link.addr.a} <-> ${link.addr.b}`)
      const pa = await spawnNode(
        ['--name', a.name, '--listen', '/ip4/0.0.0.0/tcp/4100', '--no-mdns'],
        a.env,
        20_000,
        {
          wrap: link.exec(link.ns.a),
        },
      )
      procs.push(pa)
      aId = pa.peerId
      const pb = await spawnNode(
        [
          '--name',
          b.name,
          '--listen',
          '/ip4/0.0.0.0/tcp/4100',
          '--no-mdns',
          '--peer',
          `/ip4/${link.addr.a}/tcp/4100/p2p/${aId}`,
        ],
        b.env,
        20_000,
        { wrap: link.exec(link.ns.b) },
      )
      procs.push(pb)
      bId = pb.peerId
      await eventually(async () => ((await connectionsToA()).length > 0 ? true : undefined), 30_000)
      watch = setInterval(() => {
        connectionsToA()
          .then((cs) => {
            for (const c of cs) opened.add(c.opened)
          })
          .catch(() => {})
      }, 1000)
    }, 90_000)

    afterAll(async () => {
      clearInterval(watch)
      await Promise.all(procs.map((p) => p.stop('SIGKILL')))
      await link?.remove()
      for (const d of dirs) rmSync(d, { recursive: true, force: true })
    })

    it('files of 1 MiB and 5 MiB arrive; the connection is never re-made and presence never loses the peer', async () => {
      expect(bId).not.toBe('')
      // 1 MiB at 40 KB/s (a ping waits seconds behind blob data), then 5 MiB with no bandwidth cap
      // (the 300 ms RTT keeps ranges queued behind the stream's flow control)
      for (const [name, size, rate] of [
        ['one.bin', 1024 * 1024, 40_000],
        ['five.bin', 5 * 1024 * 1024, 0],
      ] as const) {
        link.setRate(rate)
        // outside CLAWLINK_HOME: file-put refuses to share what is inside it
        const work = mkdtempSync(join(tmpdir(), 'clawlink-far-work-'))
        dirs.push(work)
        const src = join(work, name)
        writeFileSync(src, randomBytes(size))
        await cliJson<FileJson>(['file-put', '--key', `far/${name}`, '--file', src], a.env)
        // the entry reaches b by gossip; then b's get waits for the content
        await eventually(async () => {
          const r = await cli(['file-list', '--json'], b.env)
          return r.code === 0 && r.stdout.includes(`far/${name}`) ? true : undefined
        }, 30_000)
        const out = join(b.home, name)
        const started = Date.now()
        const got = await cli(['file-get', '--key', `far/${name}`, '--output', out], b.env, {
          timeout: 80_000,
        })
        console.log(
          `slow-link test: ${name} (${size} bytes, ${rate || 'no'} B/s cap) in ${Date.now() - started} ms`,
        )
        expect(got.code, got.stderr).toBe(0)
        expect(readFileSync(out).equals(readFileSync(src))).toBe(true)
      }
      const now = await connectionsToA()
      for (const c of now) opened.add(c.opened)
      // one connection, opened once: the keep-alives never gave up on a slow but working path
      expect(now).toHaveLength(1)
      expect([...opened]).toEqual([now[0]!.opened])
      // and presence never lost sight of the peer on either side
      for (const p of procs) {
        const lost = p.events.filter((e) =>
          ['peer_stale', 'peer_offline', 'blob_invalid'].includes(String(e.event)),
        )
        expect(lost).toEqual([])
      }
    }, 240_000)
  },
)
