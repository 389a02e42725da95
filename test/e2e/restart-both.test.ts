// Two agents killed -9 together and restarted at once: each comes back on a new port, and each remembers
// the other as online at its old one. mDNS must still bring them together within seconds: an answer that
// gives an address the remembered card lacks is news, not a duplicate (src/core/mdns-discovery.ts).
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { describe, expect, it } from 'vitest'
import type { PeerJson } from '../../src/api/types.js'
import { type Agent, agentMesh, cliJson, eventually, startAgent } from '../helpers/cli.js'
import { cleanedUpAfterEach } from '../helpers/e2e-cleanup.js'

/** The ids of the peers `agent`'s node has written to its store. */
function remembered(agent: Agent): string[] {
  const db = new DatabaseSync(join(agent.home, 'agents', agent.name, 'store.db'), { readOnly: true })
  try {
    return (db.prepare('SELECT id FROM peers').all() as Array<{ id: string }>).map((r) => r.id)
  } finally {
    db.close()
  }
}

const connectedTo = async (agent: Agent, name: string) =>
  (await cliJson<PeerJson[]>(['discover'], agent.env)).find((p) => p.name === name && p.connected)

describe('both ends restarted on new ports', () => {
  const { dirs, procs } = cleanedUpAfterEach()

  it('find each other again by mDNS at once, though each remembers the other at its old port', async () => {
    const agent = agentMesh(dirs)
    const alice = agent('alice')
    const bob = agent('bob')
    const first = [await startAgent(procs, alice), await startAgent(procs, bob)]
    await eventually(() => connectedTo(alice, 'bob'))
    // each has written the other to its store (peer records are flushed every few seconds)
    await eventually(async () => (remembered(alice).includes(first[1]!.peerId) ? true : undefined))
    await eventually(async () => (remembered(bob).includes(first[0]!.peerId) ? true : undefined))
    for (const p of first) p.proc.kill('SIGKILL')
    await Promise.all(first.map((p) => p.exited))
    procs.splice(0)

    const [alice2, bob2] = [await startAgent(procs, alice), await startAgent(procs, bob)]
    expect(bob2!.addrs).not.toEqual(first[1]!.addrs)
    expect(alice2!.addrs).not.toEqual(first[0]!.addrs)
    // well inside the time a remembered peer counts as online: only mDNS can show the new ports
    const connected = await eventually(() => connectedTo(alice, 'bob'), 10_000)
    expect(connected.status).toBe('online')
  }, 60_000)
})
