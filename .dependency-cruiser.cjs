/**
 * The layer rules of src/ (docs/architecture.md, "Layers"), checked by `npm run lint`.
 *
 * Layers, lowest first; a folder may import only from folders below it:
 *   rules (input limits, text and card rules: everyone may use them)
 *   api -> home -> store -> protocols -> core -> control | v1 | a2a -> daemon
 *   client (api, home) -> cli | mcp | dashboard (the web dashboard's server; its browser app in web/)
 * The named rules below spell out the edges the design forbids; `layer-order` catches any other
 * upward edge, which also makes a cycle between folders impossible.
 */

/** Edges that break a rule and are not fixed yet, per rule: [from file, why] (none today). */
const TEMPORARY = {}

const L = {
  rules: '^src/rules/',
  api: '^src/api/',
  home: '^src/home/',
  store: '^src/store/',
  protocols: '^src/protocols/',
  core: '^src/core/',
  control: '^src/control/',
  v1: '^src/v1/',
  a2a: '^src/a2a/',
  daemon: '^src/daemon/',
  client: '^src/client/',
  cli: '^src/cli/',
  mcp: '^src/mcp/',
  dashboard: '^src/dashboard/',
}
const ours = Object.values(L)
const libp2p = '^node_modules/(@libp2p/|libp2p/|@chainsafe/)'

/** A forbidden rule; its temporary exceptions (above) are exempted by file. */
function rule(name, comment, from, to) {
  const pathNot = (TEMPORARY[name] ?? []).map(([file]) => file)
  if (pathNot.length > 0) from = { ...from, pathNot: [...(from.pathNot ?? []), ...pathNot] }
  return { name, comment, severity: 'error', from, to }
}

/** For layer-order: what each folder may import (besides itself, npm packages and node builtins). */
const MAY_IMPORT = {
  rules: [],
  api: [],
  home: ['rules', 'api'],
  store: ['rules', 'api', 'home'],
  protocols: ['rules', 'home', 'store'],
  core: ['rules', 'api', 'home', 'store', 'protocols'],
  control: ['rules', 'api', 'home', 'store', 'protocols', 'core'],
  v1: ['rules', 'api', 'home', 'store', 'protocols', 'core'],
  a2a: ['rules', 'api', 'home', 'store', 'protocols', 'core'],
  daemon: ['rules', 'api', 'home', 'store', 'protocols', 'core', 'control', 'v1', 'a2a'],
  client: ['rules', 'api', 'home'],
  cli: ['rules', 'api', 'home', 'client', 'mcp', 'daemon', 'dashboard'],
  mcp: ['rules', 'api', 'home', 'client'],
  dashboard: ['rules', 'api', 'home', 'client'],
}

module.exports = {
  forbidden: [
    rule(
      'protocols-not-above',
      'libp2p services know nothing of the node around them, nor of the control API JSON',
      { path: L.protocols },
      { path: [L.core, L.control, L.v1, L.a2a, L.daemon, L.cli, L.mcp, L.client, L.api] },
    ),
    rule(
      'core-not-above',
      'core is used by the adapters and the composition root, never the other way',
      { path: L.core },
      { path: [L.control, L.v1, L.a2a, L.daemon, L.cli, L.mcp] },
    ),
    rule(
      'control-not-v1',
      'the control API and the v1 adapter are siblings',
      { path: L.control },
      { path: L.v1 },
    ),
    rule(
      'v1-not-control',
      'the control API and the v1 adapter are siblings',
      { path: L.v1 },
      { path: L.control },
    ),
    rule(
      'control-not-a2a',
      'the control API and the A2A bridge are siblings',
      { path: L.control },
      { path: L.a2a },
    ),
    rule(
      'a2a-not-adapters-or-clients',
      'the A2A bridge is an adapter on the core: it never uses the control API, v1, cli or mcp',
      { path: L.a2a },
      { path: [L.control, L.v1, L.cli, L.mcp, L.client, L.daemon] },
    ),
    rule(
      'cli-mcp-client-not-below',
      'thin clients never load libp2p, the core, the protocols or the store',
      { path: [L.cli, L.mcp, L.client, L.dashboard] },
      { path: [libp2p, L.core, L.protocols, L.store] },
    ),
    rule(
      'no-daemon-in-clients',
      'only the node and relay commands start a daemon, and they load it on demand',
      { path: [L.cli, L.mcp, L.client, L.dashboard], pathNot: '^src/cli/commands/(node|relay)\\.ts$' },
      { path: L.daemon },
    ),
    rule(
      'daemon-loaded-on-demand',
      'cli node/relay reach the daemon only through a dynamic import()',
      { path: '^src/cli/commands/(node|relay)\\.ts$' },
      { path: L.daemon, dependencyTypesNot: ['dynamic-import'] },
    ),
    rule(
      'dashboard-not-cli',
      'the dashboard server is a client of the control API like the MCP server, not of the CLI',
      { path: L.dashboard },
      { path: [L.cli, L.mcp] },
    ),
    rule(
      'mcp-not-cli',
      'MCP tools share the client with the CLI, not the CLI itself',
      { path: L.mcp },
      { path: L.cli },
    ),
    rule(
      'store-not-above',
      'the store sits under everything that keeps state',
      { path: L.store },
      { path: [L.protocols, L.core, L.control, L.v1, L.a2a, L.daemon, L.cli, L.mcp, L.client] },
    ),
    rule(
      'home-only-api',
      'home sits just above the JSON contract and the input rules',
      { path: L.home },
      { path: ours.filter((p) => p !== L.api && p !== L.home && p !== L.rules) },
    ),
    rule(
      'rules-import-nothing',
      'the input rules (limits, text, card fields) are the bottom layer: everyone may use them',
      { path: L.rules },
      { path: ours.filter((p) => p !== L.rules) },
    ),
    rule(
      'api-imports-nothing',
      'the JSON contract imports nothing of ours',
      { path: L.api },
      { path: ours.filter((p) => p !== L.api) },
    ),
    ...Object.entries(MAY_IMPORT).map(([folder, allowed]) =>
      rule(
        'layer-order',
        `${folder} may import only ${allowed.join(', ') || 'nothing of ours'}`,
        // the same temporary exceptions as the named rules, which name the same edges
        { path: L[folder], pathNot: Object.values(TEMPORARY).flatMap((list) => list.map(([file]) => file)) },
        { path: ours.filter((p) => p !== L[folder] && !allowed.some((a) => L[a] === p)) },
      ),
    ),
    {
      name: 'no-circular',
      comment: 'no import cycle, apart from the type-only index.ts <-> implementation pairs of a protocol',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
}
