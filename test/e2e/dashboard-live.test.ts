// `clawlink dashboard` in a real browser, for what the node tells it beyond the basics: its own
// delegations made with the CLI (the `task_sent` watch event), a task's durable state history, the
// node's own HTTP status on a refused request, and the store's size in the Mesh view.
import { spawn } from 'node:child_process'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventJson, StatusJson, TaskJson } from '../../src/api/types.js'
import { type Agent, BIN, cli, cliJson, eventually } from '../helpers/cli.js'
import {
  type DashboardProcess,
  type DashboardWorld,
  NO_BROWSER,
  openDashboardWorld,
} from '../helpers/dashboard.js'

/** A dashboard API call from the page (its own Origin and the token header). */
function call(page: Page, token: string, path: string, body?: unknown) {
  return page.evaluate(
    async ([path, token, body]) => {
      const res = await fetch(path as string, {
        method: body == null ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json', 'x-clawlink-token': token as string },
        body: body == null ? undefined : JSON.stringify(body),
      })
      return { status: res.status, body: await res.text() }
    },
    [path, token, body] as const,
  )
}

describe.skipIf(NO_BROWSER != null)('clawlink dashboard: live delegations, history, errors, store', () => {
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

  it('shows a task delegated with the CLI at once, without reload, and watch streams it as task_sent', async () => {
    await page.click('[data-testid="nav-tasks"]')
    await page.evaluate(() => {
      ;(globalThis as unknown as { marker: number }).marker = 7
    })
    // a CLI watcher of task_sent only, live once it printed its first line
    const watch = spawn(process.execPath, [BIN, 'watch', '--type', 'task_sent', '--count', '1', '--json'], {
      env: { PATH: process.env.PATH, ...alice.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    watch.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    const ended = new Promise<number | null>((resolve) => watch.on('close', resolve))
    const killer = setTimeout(() => watch.kill('SIGKILL'), 30_000)
    await eventually(async () => (out.includes('"watching"') ? true : undefined))
    const text = `nobody answers this ${Date.now()}`
    const r = await cli(['delegate', '--to', 'bob', '--task', text, '--json'], alice.env)
    expect(r.code, r.stderr).toBe(0)
    const { id } = JSON.parse(r.stdout) as { id: string }
    // bob never answers, and the page keeps the focus: only the node's task_sent event can show it
    await page.waitForSelector(`[data-testid="task-row"][data-id="${id}"]`, { timeout: 15_000 })
    expect(await page.locator(`[data-testid="task-row"][data-id="${id}"]`).textContent()).toContain(text)
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(7)
    // a plain watch sees it too (the page's feed is the node's watch stream)
    expect(await ended).toBe(0)
    clearTimeout(killer)
    const sent = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; id?: string; from?: { name: string } })
      .find((l) => l.type === 'task_sent')
    expect(sent?.id).toBe(id)
    expect(sent?.from?.name).toBe('alice')
  })

  it("keeps every state of a task in the node's records and shows them after a reload", async () => {
    const r = await cli(['delegate', '--to', 'bob', '--task', 'walk through the states', '--json'], alice.env)
    expect(r.code, r.stderr).toBe(0)
    const { id } = JSON.parse(r.stdout) as { id: string }
    await eventually(async () => {
      const events = await cliJson<EventJson[]>(['poll', '--wait', '2'], bob.env)
      return events.some((e) => e.type === 'task' && e.id === id) ? true : undefined
    })
    for (const status of ['working', 'completed']) {
      const a = await cli(
        ['respond', '--msg-id', id, '--result', `now ${status}`, '--status', status],
        bob.env,
      )
      expect(a.code, a.stderr).toBe(0)
      // each state reaches alice before the next is sent, so her node records both
      await eventually(async () => {
        const [t] = await cliJson<TaskJson[]>(['tasks', '--id', id], alice.env)
        return t?.state === status ? true : undefined
      })
    }
    const [t] = await cliJson<TaskJson[]>(['tasks', '--id', id], alice.env)
    const states = (t?.history ?? []).map((h) => h.state)
    expect(states[0]).toBe('submitted')
    expect(states.indexOf('working')).toBeGreaterThan(0)
    expect(states.at(-1)).toBe('completed')
    for (const h of t!.history!) expect(Number.isFinite(Date.parse(h.at))).toBe(true)
    // a page opened afterwards saw none of it live: the timeline comes from the node's records
    await page.reload()
    await page.waitForSelector('body[data-ready="1"]')
    await page.click('[data-testid="nav-tasks"]')
    await page.locator(`[data-testid="task-row"][data-id="${id}"]`).click()
    await page.waitForSelector('[data-testid="timeline"] li:has-text("working")')
    const steps = await page.locator('[data-testid="timeline"] li').allTextContents()
    expect(steps.map((s) => s.split(' ').at(-1))).toEqual(states)
  })

  it("answers a refusal with the node's own status and message, and 502 only when the node is gone", async () => {
    const first = await call(page, dash.token, '/api/files/put', { key: 'notes/a.md', text: 'one' })
    expect(first.status, first.body).toBe(200)
    const second = await call(page, dash.token, '/api/files/put', { key: 'notes/a.md', text: 'two', base: 1 })
    expect(second.status, second.body).toBe(200)
    // over version 1 again: another version came meanwhile, the node refuses with 409
    const stale = await call(page, dash.token, '/api/files/put', { key: 'notes/a.md', text: 'x', base: 1 })
    expect(stale.status, stale.body).toBe(409)
    const error = (JSON.parse(stale.body) as { error: { message: string; code?: string } }).error
    expect(error.message).toMatch(/version/i)
    expect(error.code).toBe('conflict')
    const gone = await call(page, dash.token, `/api/status?node=${encodeURIComponent('/no/such/dir')}`)
    expect(gone.status, gone.body).toBe(502)
  })

  it("shows the store's size in the Mesh view's node health, as the status reports it", async () => {
    const s = await cliJson<StatusJson>(['status', '--json'], alice.env)
    expect(s.store.dbBytes).toBeGreaterThan(0)
    expect(s.store.walBytes).toBeGreaterThanOrEqual(0)
    await page.click('[data-testid="nav-mesh"]')
    const health = page.locator('[data-testid="health"]')
    await health.waitFor()
    const row = health.locator('tr', { hasText: 'store' })
    expect(await row.textContent()).toMatch(/store\s*[\d.]+ (B|KiB|MiB) \(database [\d.]+ (B|KiB|MiB), log/)
  })
})
