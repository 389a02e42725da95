// `node bench/dashboard-screenshots.ts` (after `npm run build`): a three-agent mesh with some work in
// it, and a screenshot of each dashboard view saved to docs/img/dashboard-<view>.png.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { dashboardWorld } from './dashboard-world.ts'

const OUT = fileURLToPath(new URL('../docs/img/', import.meta.url))
const VIEWS = ['mesh', 'tasks', 'knowledge', 'files', 'activity']

const d = await dashboardWorld(['alice', 'bob', 'carol'])
const tmp = mkdtempSync(join(tmpdir(), 'clawlink-shots-'))
try {
  d.cli('bob', ['register', '--caps', 'summarize,review', '--description', 'reads long documents'])
  d.cli('carol', ['register', '--caps', 'build,test', '--description', 'runs the CI jobs'])
  const page = await d.browser.newPage({ viewport: { width: 1400, height: 820 } })
  await page.goto(d.url)
  await page.waitForSelector('body[data-ready="1"]')
  // work made while the page is open shows up in Activity too
  const ids: string[] = []
  for (const [to, task] of [
    ['bob', 'Summarize the incident report of last night'],
    ['carol', 'Run the integration suite on branch release-1.2'],
    ['bob', 'Review the pull request #142 (storage layer)'],
  ] as const)
    ids.push(JSON.parse(d.cli('alice', ['delegate', '--to', to, '--task', task, '--json'])).id)
  d.cli('carol', ['delegate', '--to', 'alice', '--task', 'Approve the deployment of 1.2 to staging'])
  d.cli('bob', [
    'respond',
    '--msg-id',
    ids[0]!,
    '--result',
    'Three services restarted; root cause: disk full.',
  ])
  d.cli('carol', ['respond', '--msg-id', ids[1]!, '--status', 'working', '--result', '41/120 tests done'])
  d.cli('bob', [
    'broadcast',
    '--topic',
    'ops',
    '--tags',
    'incident,disk',
    '--content',
    'Disk alerts now page at 85%.',
  ])
  d.cli('carol', [
    'broadcast',
    '--topic',
    'releases',
    '--tags',
    'ci',
    '--content',
    'Release 1.2 is green on CI.',
  ])
  const f = join(tmp, 'plan.md')
  writeFileSync(f, '# Release plan\n- freeze\n- test\n')
  d.cli('alice', ['file-put', '--key', 'docs/release-plan.md', '--file', f])
  writeFileSync(f, '# Release plan\n- freeze\n- test on staging\n- ship\n')
  d.cli('bob', ['file-put', '--key', 'docs/release-plan.md', '--file', f, '--base', '1'])
  d.cli('carol', ['file-put', '--key', 'ci/last-run.txt', '--file', f])
  await page.waitForSelector('[data-testid="agent-row"]:has-text("carol")')
  mkdirSync(OUT, { recursive: true })
  for (const view of VIEWS) {
    await page.click(`[data-testid="nav-${view}"]`)
    if (view === 'tasks') await page.click('[data-testid="task-row"]:has-text("incident")')
    if (view === 'files') {
      await page.click('[data-testid="file-row"][data-key="docs/release-plan.md"]')
      await page.waitForSelector('[data-testid="history"] >> text=v2')
    }
    await page.waitForTimeout(300) // let the last live update paint
    await page.screenshot({ path: join(OUT, `dashboard-${view}.png`) })
    console.log(`saved docs/img/dashboard-${view}.png`)
  }
} finally {
  rmSync(tmp, { recursive: true, force: true })
  await d.close()
}
