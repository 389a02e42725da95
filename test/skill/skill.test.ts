// The OpenClaw skill must never drift from the CLI: its frontmatter has what ClawHub and OpenClaw need,
// and every command and option it teaches exists (each command's --help is run and read).
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { cli } from '../helpers/cli.js'

const SKILL = readFileSync(new URL('../../skill/SKILL.md', import.meta.url), 'utf8')
const PKG = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  name: string
  bin: Record<string, string>
}

/** The frontmatter keys OpenClaw's skill validator accepts (anything else, e.g. `version`, is rejected). */
const ALLOWED_KEYS = [
  'name',
  'description',
  'homepage',
  'license',
  'allowed-tools',
  'user-invocable',
  'disable-model-invocation',
  'command-dispatch',
  'command-tool',
  'command-arg-mode',
  'metadata',
]

function split(text: string): { front: string; body: string } {
  const m = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text)
  if (m == null) throw new Error('SKILL.md has no YAML frontmatter')
  return { front: m[1]!, body: m[2]! }
}

interface Install {
  id: string
  kind: string
  package?: string
  bins?: string[]
  label?: string
}

interface Front {
  name: string
  description: string
  metadata: {
    openclaw: { emoji: string; requires: { bins: string[]; env?: string[] }; install: Install[] }
  }
}

/** Every `clawlink COMMAND ...` the body shows, with the options used on it (shell continuations joined). */
function commandsUsed(body: string): Map<string, Set<string>> {
  const text = body.replace(/\\\n\s*/g, ' ')
  const used = new Map<string, Set<string>>()
  for (const m of text.matchAll(/\bclawlink ([a-z][a-z-]*)([^\n`|]*)/g)) {
    const name = m[1]!
    const flags = used.get(name) ?? new Set<string>()
    for (const f of m[2]!.matchAll(/(?:^|\s)(--[a-z][a-z-]*)/g)) flags.add(f[1]!)
    used.set(name, flags)
  }
  return used
}

describe('skill/SKILL.md', () => {
  const { front, body } = split(SKILL)
  const meta = parse(front) as Front

  it('has the frontmatter OpenClaw and ClawHub read', () => {
    expect(meta.name).toBe('clawlink')
    for (const key of Object.keys(meta)) expect(ALLOWED_KEYS, `frontmatter key ${key}`).toContain(key)
    expect(typeof meta.description).toBe('string')
    // says when to use it, not only what it is; one line under 160 characters, the detail in the body
    expect(meta.description).toMatch(/use it when/i)
    expect(meta.description.length).toBeLessThan(160)
    expect(meta.description).not.toMatch(/\n/)
    // one line in the file too: no folded or literal block scalar
    expect(front).toMatch(/^description: [^\n>|]\S.*$/m)
    const oc = meta.metadata.openclaw
    expect(oc.emoji).toMatch(/\S/)
    expect(oc.requires.bins).toEqual(Object.keys(PKG.bin))
    const npm = oc.install.find((i) => i.kind === 'node')
    expect(npm).toMatchObject({ package: PKG.name, bins: ['clawlink'] })
    expect(npm?.label).toMatch(/\S/)
  })

  it('declares every environment variable the body reads', () => {
    const read = new Set([...body.matchAll(/\$\{?([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!))
    read.delete('HOME')
    expect([...read].sort()).toEqual([...(meta.metadata.openclaw.requires.env ?? [])].sort())
  })

  it('teaches the whole workflow', () => {
    const used = commandsUsed(body)
    for (const c of [
      'status',
      'up',
      'logs',
      'discover',
      'delegate',
      'poll',
      'respond',
      'broadcast',
      'file-put',
      'watch',
    ])
      expect(used.has(c), c).toBe(true)
    expect(used.get('respond')).toContain('--status')
    expect(body).toMatch(/--status working/)
    expect(body).toMatch(/--status completed/)
    expect(used.get('file-put')).toContain('--base')
    expect(used.get('discover')).toContain('--cap')
    // one command starts the node, not nohup and a sleep
    expect(used.get('up')).toContain('--wake-url')
    expect(body).not.toMatch(/\bnohup\b|\bsleep \d/)
    // the gateway's hooks are off by default: the skill says how to enable them and match the token
    expect(body).toMatch(/hooks: \{ enabled: true, token: /)
    expect(body).toContain('CLAWLINK_WAKE_TOKEN')
    expect(body).toMatch(/off by default/i)
    expect(body).toMatch(/## \d+\. Troubleshooting/)
    expect(body).toMatch(/\| Symptom \| Cause \| What to do \|/)
  })

  it('uses only commands and options the CLI has', async () => {
    const used = commandsUsed(body)
    expect(used.size).toBeGreaterThan(10)
    for (const [name, flags] of used) {
      const help = await cli([name, '--help'], {})
      expect(help.code, `clawlink ${name} --help: ${help.stderr}`).toBe(0)
      for (const flag of flags) {
        expect(help.stdout, `clawlink ${name} has no ${flag}`).toMatch(
          new RegExp(`(^|\\s)${flag}(\\s|=|$)`, 'm'),
        )
      }
    }
  })
})
