// v1's discover lists only agents heard from within 120 s, and a poll is a heartbeat (issue 16).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ClawLinkNode } from '../../src/core/index.js'
import { Store } from '../../src/store/database.js'
import { discover } from '../../src/v1/agent-routes.js'
import { STALE_AFTER } from '../../src/v1/constants.js'
import { ROUTES, type V1Context } from '../../src/v1/routes.js'
import { V1Store } from '../../src/v1/store.js'

let dir: string
let store: Store
let ctx: V1Context

// the parts of a node discover reads: no peers, so only this node's v1 agents are listed
const node = {
  presence: { peers: () => [] },
  peerId: { toString: () => 'self-peer' },
  options: { machine: 'host' },
} as unknown as ClawLinkNode

const poll = ROUTES.find((r) => r.path === '/poll/')!.handler
const listed = () =>
  (discover(ctx, undefined, '') as { agents: Array<{ agent_id: string }> }).agents.map((a) => a.agent_id)

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(1_700_000_000_000)
  dir = mkdtempSync(join(tmpdir(), 'clawlink-v1-discover-'))
  store = new Store(join(dir, 'store.db'))
  ctx = { node, store: new V1Store(store.db), authRequired: false }
})
afterEach(() => {
  vi.useRealTimers()
  store.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('v1 discover', () => {
  it('lists only agents seen within 120 s; polling keeps an agent listed', async () => {
    const reg = (id: string) =>
      ctx.store.register({ agentId: id, name: id, capabilities: [], machine: 'm', description: '' })
    reg('quiet')
    reg('poller')
    expect(listed().sort()).toEqual(['poller', 'quiet'])
    vi.setSystemTime(Date.now() + STALE_AFTER - 1_000)
    await poll(ctx, undefined, 'poller')
    vi.setSystemTime(Date.now() + 2_000)
    // quiet was last heard from 121 s ago; poller polled 2 s ago
    expect(listed()).toEqual(['poller'])
    expect(ctx.store.has('quiet')).toBe(true)
  })
})
