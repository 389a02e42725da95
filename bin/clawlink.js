#!/usr/bin/env node
// An older Node fails later and less clearly (node:sqlite is missing before 22.13): say what is needed.
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 13)) {
  process.stderr.write(`clawlink: needs Node.js 22.13 or newer; this is ${process.version}\n`)
  process.exit(1)
}
// A node is a long-lived daemon: V8's defaults size its young generation for throughput (up to 32 MiB
// of semi-spaces), which an idle node never needs. These flags only take effect at process start, so the
// `node` and `relay` commands replace this process (same pid, stdio and signals) with one that has them.
const DAEMON_FLAGS = ['--max-semi-space-size=1', '--optimize-for-size']
const command = process.argv[2]
if (
  (command === 'node' || command === 'relay') &&
  typeof process.execve === 'function' &&
  !DAEMON_FLAGS.every((f) => process.execArgv.includes(f))
) {
  try {
    process.execve(process.execPath, [
      process.execPath,
      ...DAEMON_FLAGS,
      ...process.execArgv,
      ...process.argv.slice(1),
    ])
  } catch {
    // not allowed here: run with V8's defaults
  }
}
const { run } = await import('../dist/cli/main.js')

await run(process.argv.slice(2))
