// The files that make the OS start a node at login: a systemd user unit (Linux) or a launchd agent
// (macOS). Pure text builders, so a test can check them without ever running systemctl or launchctl.

export interface ServiceSpec {
  /** The agent name (names the unit). */
  name: string
  /** The program and its arguments: node, bin/clawlink.js, `node`, the node options. */
  argv: string[]
  /** Where relative paths in the options resolve, as when the command was given. */
  workingDirectory: string
  /** The node's log (stdout and stderr appended), which it keeps bounded. */
  logFile: string
  /** Variables the node needs (CLAWLINK_HOME, CLAWLINK_LOG_FILE, PATH). */
  env: Record<string, string>
}

/**
 * One word of a systemd setting, double-quoted: `\` and `"` escaped, `%` (specifiers) doubled, and in a
 * command line `$` too (ExecStart= expands variables; Environment= and WorkingDirectory= do not).
 */
export function systemdQuote(word: string, command = true): string {
  let escaped = word.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\n/g, '\\n')
  if (command) escaped = escaped.replace(/\$/g, '$$$$')
  return `"${escaped}"`
}

export function systemdUnitName(name: string): string {
  return `clawlink-${name}.service`
}

export function systemdUnit(s: ServiceSpec): string {
  return [
    '[Unit]',
    `Description=ClawLink node ${s.name}`,
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${s.argv.map((a) => systemdQuote(a)).join(' ')}`,
    `WorkingDirectory=${s.workingDirectory.replace(/%/g, '%%')}`,
    ...Object.entries(s.env).map(([k, v]) => `Environment=${systemdQuote(`${k}=${v}`, false)}`),
    `StandardOutput=append:${s.logFile.replace(/%/g, '%%')}`,
    `StandardError=append:${s.logFile.replace(/%/g, '%%')}`,
    // SIGTERM makes the node leave the mesh cleanly; a second one (or SIGKILL) ends it at once
    'KillSignal=SIGTERM',
    'TimeoutStopSec=30',
    'Restart=on-failure',
    'RestartSec=5',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n')
}

export function launchdLabel(name: string): string {
  return `ai.clawlink.${name}`
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

export function launchdPlist(s: ServiceSpec): string {
  const str = (v: string) => `<string>${xml(v)}</string>`
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    '<dict>',
    `  <key>Label</key>${str(launchdLabel(s.name))}`,
    '  <key>ProgramArguments</key>',
    '  <array>',
    ...s.argv.map((a) => `    ${str(a)}`),
    '  </array>',
    `  <key>WorkingDirectory</key>${str(s.workingDirectory)}`,
    '  <key>EnvironmentVariables</key>',
    '  <dict>',
    ...Object.entries(s.env).map(([k, v]) => `    <key>${xml(k)}</key>${str(v)}`),
    '  </dict>',
    `  <key>StandardOutPath</key>${str(s.logFile)}`,
    `  <key>StandardErrorPath</key>${str(s.logFile)}`,
    '  <key>RunAtLoad</key><true/>',
    // restarted when it fails, not after a clean stop
    '  <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>',
    '  <key>ExitTimeOut</key><integer>30</integer>',
    '</dict>',
    '</plist>',
    '',
  ].join('\n')
}
