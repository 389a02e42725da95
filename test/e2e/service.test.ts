// `clawlink service install` writes the file a service manager starts the node from at login; systemctl
// and launchctl are never run here: the file's content is what is checked.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { launchdPlist, systemdQuote, systemdUnit } from '../../src/cli/detach/service-files.js'
import { BIN, cli } from '../helpers/cli.js'

describe('clawlink service install', () => {
  const home = mkdtempSync(join(tmpdir(), 'clawlink-service-'))
  const env = { HOME: home, CLAWLINK_HOME: join(home, 'cl'), XDG_CONFIG_HOME: join(home, 'config') }
  afterAll(() => rmSync(home, { recursive: true, force: true }))

  it('writes a systemd user unit that runs clawlink node with the options given, its log in the data dir', async () => {
    const r = await cli(
      [
        'service',
        'install',
        '--name',
        'svc',
        '--caps',
        'code,review',
        '--wake-url',
        '--no-mdns',
        '--kind',
        'systemd',
      ],
      env,
    )
    expect(r.code, r.stderr).toBe(0)
    const path = join(home, 'config', 'systemd', 'user', 'clawlink-svc.service')
    expect(r.stdout).toContain(`wrote ${path}`)
    expect(r.stdout).toContain('systemctl --user enable --now clawlink-svc.service')
    const unit = readFileSync(path, 'utf8')
    const log = join(home, 'cl', 'agents', 'svc', 'node.log')
    expect(unit).toContain(
      `ExecStart="${process.execPath}" "${BIN}" "node" "--name=svc" "--caps=code,review" "--no-mdns" "--wake-url=http://127.0.0.1:18789/hooks/wake"\n`,
    )
    expect(unit).toContain(`Environment="CLAWLINK_HOME=${join(home, 'cl')}"\n`)
    expect(unit).toContain(`Environment="CLAWLINK_LOG_FILE=${log}"\n`)
    expect(unit).toContain(`StandardOutput=append:${log}\n`)
    expect(unit).toContain(`StandardError=append:${log}\n`)
    expect(unit).toMatch(/^\[Unit\]\nDescription=ClawLink node svc\n/)
    expect(unit).toMatch(/\nKillSignal=SIGTERM\n/)
    expect(unit).toMatch(/\nRestart=on-failure\n/)
    expect(unit).toMatch(/\n\[Install\]\nWantedBy=default\.target\n$/)
    // the data dir exists, private, so the service manager can open the log there
    expect(statSync(join(home, 'cl', 'agents', 'svc')).mode & 0o777).toBe(0o700)

    const again = await cli(['service', 'install', '--name', 'svc', '--kind', 'systemd'], env)
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('already exists; give --force to replace it')
    const forced = await cli(
      ['service', 'install', '--name', 'svc', '--kind', 'systemd', '--force', '--json'],
      env,
    )
    expect(forced.code).toBe(0)
    expect(JSON.parse(forced.stdout)).toMatchObject({ kind: 'systemd', path, name: 'svc', logFile: log })
  })

  it('writes a launchd agent on request', async () => {
    const out = join(home, 'agent.plist')
    const r = await cli(
      ['service', 'install', '--name', 'mac', '--kind', 'launchd', '--output', out, '--json'],
      env,
    )
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).enable).toEqual([`launchctl bootstrap gui/$(id -u) ${out}`])
    const plist = readFileSync(out, 'utf8')
    expect(plist).toContain('<key>Label</key><string>ai.clawlink.mac</string>')
    expect(plist).toContain(
      `<array>\n    <string>${process.execPath}</string>\n    <string>${BIN}</string>\n    <string>node</string>\n    <string>--name=mac</string>\n  </array>`,
    )
    expect(plist).toContain('<key>RunAtLoad</key><true/>')
    expect(plist).toContain(
      `<key>StandardErrorPath</key><string>${join(home, 'cl', 'agents', 'mac', 'node.log')}</string>`,
    )
  })

  it('refuses secrets on the command line, a bad kind, and a missing subcommand', async () => {
    const secret = await cli(['service', 'install', '--name', 's', '--wake-token', 'abc'], env)
    expect(secret.code).toBe(2)
    expect(secret.stderr).toContain(
      '--wake-token would be written into the service file: use --wake-token-file instead',
    )
    const a2a = await cli(['service', 'install', '--name', 's', '--a2a', '9078', '--a2a-token', 'abc'], env)
    expect(a2a.code).toBe(2)
    expect(a2a.stderr).toContain(
      '--a2a-token would be written into the service file: use --a2a-token-file instead',
    )
    const kind = await cli(['service', 'install', '--name', 's', '--kind', 'upstart'], env)
    expect(kind.code).toBe(2)
    const none = await cli(['service', '--name', 's'], env)
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('service needs one of: install')
    const extra = await cli(['service', 'install', 'more'], env)
    expect(extra.code).toBe(2)
    expect(extra.stderr).toContain('unexpected argument "more"')
  })

  it('quotes what systemd would expand and escapes what XML would parse', () => {
    expect(systemdQuote('a "b" \\ 100% $HOME')).toBe('"a \\"b\\" \\\\ 100%% $$HOME"')
    expect(systemdQuote('$HOME', false)).toBe('"$HOME"')
    const spec = {
      name: 'x',
      argv: ['/bin/n', '--description=<a&b>'],
      workingDirectory: '/w%',
      logFile: '/l',
      env: {},
    }
    expect(systemdUnit(spec)).toContain('WorkingDirectory=/w%%\n')
    expect(launchdPlist(spec)).toContain('<string>--description=&lt;a&amp;b&gt;</string>')
  })
})
