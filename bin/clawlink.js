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
// (--optimize-for-size, also here until issue 17's session 9, cost an idle node of a 50-node mesh 12 %
// more CPU and saved no memory: docs/benchmarks.md.)
const DAEMON_FLAGS = ['--max-semi-space-size=1']
// glibc's malloc gives each thread that contends for it an arena of its own (up to 8 per core), and
// each keeps memory freed into it: two are plenty for a daemon whose helper threads (libuv's pool,
// V8's) allocate little, and save 2-3 MiB of an idle node's RSS (docs/benchmarks.md, issue 13).
// A value the user set wins; ours is removed again below, so commands the node runs never see it.
const ARENAS = 'MALLOC_ARENA_MAX'
const OURS = 'CLAWLINK_MALLOC_ARENA_MAX'
const command = process.argv[2]
if (
  (command === 'node' || command === 'relay') &&
  typeof process.execve === 'function' &&
  !DAEMON_FLAGS.every((f) => process.execArgv.includes(f))
) {
  try {
    process.execve(
      process.execPath,
      [process.execPath, ...DAEMON_FLAGS, ...process.execArgv, ...process.argv.slice(1)],
      process.env[ARENAS] == null ? { ...process.env, [ARENAS]: '2', [OURS]: '1' } : process.env,
    )
  } catch {
    // not allowed here: run with V8's and glibc's defaults
  }
}
if (process.env[OURS] === '1') {
  delete process.env[ARENAS]
  delete process.env[OURS]
}
const { run } = await import('../dist/cli/main.js')

await run(process.argv.slice(2))
