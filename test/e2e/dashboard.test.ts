import { request } from 'node:http'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventJson } from '../../src/api/types.js'
import { type Agent, cli, cliJson, eventually } from '../helpers/cli.js'
import {
  type DashboardProcess,
  type DashboardWorld,
  NO_BROWSER,
  openDashboardWorld,
} from '../helpers/dashboard.js'

const XSS = '<img src=x onerror=alert(1)>'

/** A raw request with any Host, Origin or cookie (fetch sets some of these itself). */
function raw(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => {
        body += d.toString()
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

describe.skipIf(NO_BROWSER != null)('clawlink dashboard in a browser', () => {
  const dialogs: string[] = []
  /** the browser's console errors, where a CSP violation would show */
  const consoleErrors: string[] = []
  let world: DashboardWorld
  let _alice: Agent
  let bob: Agent
  let dash: DashboardProcess
  let page: Page

  beforeAll(async () => {
    world = await openDashboardWorld((p) => {
      p.on('dialog', (d) => {
        dialogs.push(d.message())
        void d.dismiss()
      })
      p.on('console', (m) => {
        if (m.type() === 'error') consoleErrors.push(m.text())
      })
    })
    ;({ bob, dash, page } = world)
  }, 90_000)

  afterAll(() => world?.stop())

  it('shows the other agent in the Mesh view, and the token has left the address bar', async () => {
    expect(new URL(page.url()).searchParams.get('token')).toBeNull()
    const row = page.locator('[data-testid="agent-row"]', { hasText: 'bob' })
    await row.waitFor()
    expect(await row.textContent()).toContain('online')
    expect(await page.locator('[data-testid="node-state"]').textContent()).toContain('live: alice')
  })

  it("delivers a task delegated from the page to the other node's poll, and shows a CLI response live", async () => {
    await page.click('[data-testid="nav-tasks"]')
    const text = `summarize the logs ${Date.now()}`
    await page.fill('[data-testid="delegate-form"] input[name="target"]', 'bob')
    await page.fill('[data-testid="delegate-form"] textarea[name="task"]', text)
    await page.fill('[data-testid="delegate-form"] textarea[name="context"]', '{"repo":"clawlink"}')
    await page.click('[data-testid="delegate-form"] button[type="submit"]')
    const got = await eventually(async () => {
      const events = await cliJson<EventJson[]>(['poll', '--wait', '2'], bob.env)
      return events.find((e) => e.type === 'task' && e.task === text)
    })
    expect(got.from.name).toBe('alice')
    // the page must not reload: a marker set now would be gone
    await page.evaluate(() => {
      ;(globalThis as unknown as { marker: number }).marker = 42
    })
    const r = await cli(
      ['respond', '--msg-id', got.id, '--result', 'all clear', '--status', 'completed'],
      bob.env,
    )
    expect(r.code, r.stderr).toBe(0)
    const row = page.locator(`[data-testid="task-row"][data-id="${got.id}"]`)
    await page.waitForSelector(`[data-testid="task-row"][data-id="${got.id}"][data-state="completed"]`)
    await row.click()
    await page.waitForSelector('[data-testid="task-result"]:has-text("all clear")')
    expect(await page.locator('[data-testid="timeline"]').textContent()).toContain('completed')
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42)
  })

  it('renders a task text of markup as text and runs no script', async () => {
    await page.click('[data-testid="nav-tasks"]')
    const r = await cli(['delegate', '--to', 'alice', '--task', XSS, '--json'], bob.env)
    expect(r.code, r.stderr).toBe(0)
    const { id } = JSON.parse(r.stdout) as { id: string }
    const row = page.locator(`[data-testid="task-row"][data-id="${id}"]`)
    await row.waitFor()
    expect(await row.textContent()).toContain(XSS)
    await row.click()
    await page.waitForSelector('[data-testid="task-text"]')
    expect(await page.locator('[data-testid="task-text"]').textContent()).toBe(XSS)
    expect(await page.locator('main img').count()).toBe(0)
    // a broadcast of markup too, on the Knowledge view
    const b = await cli(
      ['broadcast', '--content', `<script>alert(2)</script>${XSS}`, '--topic', 'x'],
      bob.env,
    )
    expect(b.code, b.stderr).toBe(0)
    await page.click('[data-testid="nav-knowledge"]')
    await page.waitForSelector('[data-testid="broadcast"]:has-text("<script>alert(2)</script>")')
    expect(await page.locator('main img, main script').count()).toBe(0)
    expect(dialogs).toEqual([])
    expect(consoleErrors).toEqual([])
  })

  it('responds to a received task and cancels a sent one from the page', async () => {
    await page.click('[data-testid="nav-tasks"]')
    const r = await cli(['delegate', '--to', 'alice', '--task', 'please reject me', '--json'], bob.env)
    expect(r.code, r.stderr).toBe(0)
    const { id } = JSON.parse(r.stdout) as { id: string }
    await page.locator(`[data-testid="task-row"][data-id="${id}"]`).click()
    await page.selectOption('[data-testid="respond-form"] select[name="status"]', 'rejected')
    await page.fill('[data-testid="respond-form"] textarea[name="result"]', 'not my job')
    await page.click('[data-testid="respond-form"] button[type="submit"]')
    const seen = await eventually(async () => {
      const [t] = await cliJson<Array<{ state: string; result: string }>>(['tasks', '--id', id], bob.env)
      return t?.state === 'rejected' ? t : undefined
    })
    expect(seen.result).toBe('not my job')
    // a task sent from the page, then canceled from it: the other node sees the cancel
    await page.fill('[data-testid="delegate-form"] input[name="target"]', 'bob')
    await page.fill('[data-testid="delegate-form"] textarea[name="task"]', 'never mind this one')
    await page.click('[data-testid="delegate-form"] button[type="submit"]')
    const row = page.locator('[data-testid="task-row"]', { hasText: 'never mind this one' })
    await row.click()
    await page.click('[data-testid="cancel-form"] button[type="submit"]')
    await page.waitForSelector(
      '[data-testid="task-row"][data-state="canceled"]:has-text("never mind this one")',
    )
    await eventually(async () => {
      const tasks = await cliJson<Array<{ task: string; state: string }>>(['tasks'], bob.env)
      return tasks.some((t) => t.task === 'never mind this one' && t.state === 'canceled') ? true : undefined
    })
  })

  it('refuses a request without the token, from a foreign Origin, or for a foreign Host', async () => {
    const delegate = JSON.stringify({ to: 'bob', task: 'forged' })
    const json = { 'content-type': 'application/json' }
    // the control: with the token and its own Origin, the same request is accepted
    const ok = await raw(`${dash.origin}/api/delegate`, {
      method: 'POST',
      headers: { ...json, origin: dash.origin, 'x-clawlink-token': dash.token },
      body: JSON.stringify({ to: 'bob', task: 'allowed' }),
    })
    expect(ok.status, ok.body).toBe(200)
    const noToken = await raw(`${dash.origin}/api/delegate`, {
      method: 'POST',
      headers: { ...json, origin: dash.origin },
      body: delegate,
    })
    expect(noToken.status).toBe(401)
    const foreign = await raw(`${dash.origin}/api/delegate`, {
      method: 'POST',
      headers: { ...json, origin: 'http://evil.example', 'x-clawlink-token': dash.token },
      body: delegate,
    })
    expect(foreign.status).toBe(403)
    const noOrigin = await raw(`${dash.origin}/api/delegate`, {
      method: 'POST',
      headers: { ...json, 'x-clawlink-token': dash.token },
      body: delegate,
    })
    expect(noOrigin.status).toBe(403)
    const rebound = await raw(`${dash.origin}/api/snapshot`, {
      headers: { host: 'evil.example', 'x-clawlink-token': dash.token },
    })
    expect(rebound.status).toBe(403)
    expect((await raw(`${dash.origin}/`)).status).toBe(401)
    expect((await raw(`${dash.origin}/api/snapshot`)).status).toBe(401)
    expect((await raw(`${dash.origin}/?token=wrong`)).status).toBe(401)
    const tasks = await cliJson<Array<{ task: string }>>(['tasks'], bob.env)
    expect(tasks.some((t) => t.task === 'forged')).toBe(false)
    // the first load trades the URL token for a strict cookie; the page carries a strict CSP
    const first = await raw(dash.url)
    expect(first.status).toBe(303)
    expect(String(first.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/)
    const cookie = String(first.headers['set-cookie']).split(';')[0]!
    const pageRes = await raw(`${dash.origin}/`, { headers: { cookie } })
    expect(pageRes.status).toBe(200)
    expect(String(pageRes.headers['content-security-policy'])).toContain("script-src 'self'")
    expect(pageRes.body).not.toMatch(/<script>|<script [^>]*>[^<]/)
  })
})
