// The dashboard's Knowledge and Files views acting on the mesh, and the dashboard following its node
// across a restart: a broadcast and a file upload made on the page appear on the other node.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BroadcastJson, FileJson } from '../../src/api/types.js'
import { type Agent, cli, cliJson, eventually, seesAll, startAgent } from '../helpers/cli.js'
import {
  type DashboardProcess,
  type DashboardWorld,
  NO_BROWSER,
  openDashboardWorld,
} from '../helpers/dashboard.js'

describe.skipIf(NO_BROWSER != null)('clawlink dashboard: knowledge, files, restarts', () => {
  let world: DashboardWorld
  let alice: Agent
  let bob: Agent
  let dash: DashboardProcess
  let page: Page

  beforeAll(async () => {
    world = await openDashboardWorld()
    ;({ alice, bob, dash, page } = world)
  }, 90_000)

  afterAll(() => world?.stop())

  it('posts a broadcast from the page that the other node receives', async () => {
    await page.click('[data-testid="nav-knowledge"]')
    const content = `release 1.2 is out ${Date.now()}`
    await page.fill('[data-testid="broadcast-form"] input[name="topic"]', 'releases')
    await page.fill('[data-testid="broadcast-form"] input[name="tags"]', 'ops, news')
    await page.fill('[data-testid="broadcast-form"] textarea[name="content"]', content)
    await page.click('[data-testid="broadcast-form"] button[type="submit"]')
    const got = await eventually(async () => {
      const feed = await cliJson<BroadcastJson[]>(['knowledge', '--topic', 'releases'], bob.env)
      return feed.find((b) => b.content === content)
    })
    expect(got.tags).toEqual(['ops', 'news'])
    await page.waitForSelector(`[data-testid="broadcast"]:has-text("${content}")`)
  })

  it('uploads a file from the page that the other node can read, then a new version over the one shown', async () => {
    await page.click('[data-testid="nav-files"]')
    const local = mkdtempSync(join(tmpdir(), 'clawlink-dash-upload-'))
    world.dirs.push(local)
    const path = join(local, 'plan.md')
    writeFileSync(path, 'step one\nstep two\n')
    await page.fill('[data-testid="upload-form"] input[name="key"]', 'notes/plan.md')
    await page.setInputFiles('[data-testid="upload-form"] input[name="file"]', path)
    await page.click('[data-testid="upload-form"] button[type="submit"]')
    await page.waitForSelector('[data-testid="form-msg"]:has-text("version 1")')
    const out = join(local, 'got.md')
    await eventually(async () => {
      const r = await cli(['file-get', '--key', 'notes/plan.md', '--output', out], bob.env)
      return r.code === 0 ? true : undefined
    })
    expect(readFileSync(out, 'utf8')).toBe('step one\nstep two\n')
    // bob writes version 2; the page, which shows it live, uploads version 3 over it and diffs 1 and 3
    const v2 = join(local, 'v2.md')
    writeFileSync(v2, 'step one\nstep 2\n')
    const put = await cli(['file-put', '--key', 'notes/plan.md', '--file', v2, '--base', '1'], bob.env)
    expect(put.code, put.stderr).toBe(0)
    const row = page.locator('[data-testid="file-row"][data-key="notes/plan.md"]')
    await page.waitForSelector('[data-testid="file-row"][data-key="notes/plan.md"]:has-text("v2")')
    await row.click()
    await page.fill('[data-testid="upload-form"] textarea[name="text"]', 'step one\nstep two\nstep three\n')
    await page.click('[data-testid="upload-form"] button[type="submit"]')
    await page.waitForSelector('[data-testid="form-msg"]:has-text("version 3")')
    await eventually(async () => {
      const files = await cliJson<FileJson[]>(['file-list'], bob.env)
      return files.find((f) => f.key === 'notes/plan.md' && f.version === 3)
    })
    await page.waitForSelector('[data-testid="history"] >> text=v3')
    // an upload over a version that is no longer the current one is refused (compare-and-swap)
    const stale = await page.evaluate(async (token) => {
      const res = await fetch('/api/files/put', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-clawlink-token': token },
        body: JSON.stringify({ key: 'notes/plan.md', base: 2, text: 'stale edit' }),
      })
      return { ok: res.ok, body: await res.text() }
    }, dash.token)
    expect(stale.ok).toBe(false)
    expect(stale.body).toMatch(/version|base|conflict/i)
    await page.selectOption('[data-testid="diff-form"] select[name="a"]', '2')
    await page.selectOption('[data-testid="diff-form"] select[name="b"]', '3')
    await page.click('[data-testid="diff-form"] button[type="submit"]')
    const diff = await page.locator('[data-testid="diff"]').textContent()
    expect(diff).toContain('- step 2')
    expect(diff).toContain('+ step three')
  })

  it('follows its node across a restart and shows its events again', async () => {
    await page.click('[data-testid="nav-activity"]')
    const node = world.procs[0]!
    await node.stop()
    await page.waitForSelector('[data-testid="node-state"]:has-text("node not running")')
    world.procs[0] = await startAgent([], alice)
    await page.waitForSelector('[data-testid="node-state"]:has-text("live: alice")')
    await seesAll(bob.env, ['alice'])
    const content = `after the restart ${Date.now()}`
    const r = await cli(['broadcast', '--content', content, '--topic', 'ops'], bob.env)
    expect(r.code, r.stderr).toBe(0)
    await page.waitForSelector(`[data-testid="event-row"]:has-text("${content}")`)
  })
})
