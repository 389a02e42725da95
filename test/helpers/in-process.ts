// Nodes running inside the test process: fast to start, and their state is inspectable directly.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import {
  type ClawLinkNode,
  EventLog,
  type NodeOptionsInput,
  resolveNodeOptions,
} from '../../src/core/index.js'
import { startDaemon } from '../../src/daemon/index.js'
import { encodeKeyFile, generateKey } from '../../src/home/mesh-key.js'

/** A private world for one test: its own home, mesh key and mDNS tag, so parallel tests never meet. */
export interface TestMesh {
  home: string
  /** CLAWLINK_KEY value for this mesh */
  key: string
  mdnsTag: string
  env: NodeJS.ProcessEnv
  nodes: ClawLinkNode[]
  cleanup(): Promise<void>
}

/** A fresh mesh (its own key and mDNS tag), or, with `join`, a home of its own in an existing one. */
export function testMesh(join_?: { key: string; mdnsTag: string }): TestMesh {
  const home = mkdtempSync(join(tmpdir(), 'clawlink-test-'))
  const key = join_?.key ?? encodeKeyFile(generateKey())
  const mdnsTag = join_?.mdnsTag ?? `_cl-${randomBytes(4).toString('hex')}._udp.local`
  const nodes: ClawLinkNode[] = []
  return {
    home,
    key,
    mdnsTag,
    env: { CLAWLINK_HOME: home, CLAWLINK_KEY: key, CLAWLINK_MDNS_TAG: mdnsTag },
    nodes,
    async cleanup() {
      await Promise.allSettled(nodes.map((n) => n.stop()))
      rmSync(home, { recursive: true, force: true })
    },
  }
}

/** Collects the JSON log lines of a node. */
export class LogSink extends Writable {
  readonly events: Array<Record<string, unknown>> = []
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    for (const line of chunk.toString().split('\n')) if (line !== '') this.events.push(JSON.parse(line))
    cb()
  }
}

export async function startNode(
  mesh: TestMesh,
  input: Partial<NodeOptionsInput> & { name: string },
): Promise<ClawLinkNode & { sink: LogSink }> {
  const options = resolveNodeOptions({
    listen: ['/ip4/127.0.0.1/tcp/0'],
    env: mesh.env,
    json: true,
    ...input,
  })
  const sink = new LogSink()
  // the whole daemon (control API, v1 API if asked for), as `clawlink node` runs it
  const node = (await startDaemon(options, new EventLog(true, sink, sink))) as ClawLinkNode & {
    sink: LogSink
  }
  node.sink = sink
  mesh.nodes.push(node)
  return node
}

/** Names of the peers a node lists with the given status. */
export function seen(node: ClawLinkNode, status = 'online'): string[] {
  return node.presence
    .peers()
    .filter((p) => p.status === status)
    .map((p) => p.card.name)
    .sort()
}

/** A TCP port on loopback that was free a moment ago (for a node that must come back on the same address). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
  })
}
