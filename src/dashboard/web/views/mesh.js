// Mesh: every agent known to the node, a graph of its connections, and the node's own health.
import { html } from 'htm/preact'
import { state } from '../store.js'
import { ago, bytes, duration } from '../util.js'

function reached(peer, conns) {
  const mine = conns.filter((c) => c.peer === peer.id)
  if (mine.length === 0) return peer.kind === 'hosted' ? 'hosted' : 'not connected'
  return mine.some((c) => !c.relayed) ? 'direct' : 'relay'
}

/** This node in the middle, its peers on a circle; a dashed line is a relayed connection. */
function Graph({ peers, conns }) {
  const nodes = peers.filter((p) => p.kind !== 'hosted').slice(0, 60)
  const r = 120
  const cx = 170
  const cy = 150
  const at = (i) => {
    const a = (2 * Math.PI * i) / Math.max(nodes.length, 1) - Math.PI / 2
    return [cx + r * Math.cos(a), cy + r * Math.sin(a)]
  }
  return html`<svg class="graph" viewBox="0 0 340 300" role="img" aria-label="connections" data-testid="graph">
    ${nodes.map((p, i) => {
      const how = reached(p, conns)
      if (how === 'not connected') return null
      const [x, y] = at(i)
      return html`<line x1=${cx} y1=${cy} x2=${x} y2=${y} class=${how === 'relay' ? 'edge relay' : 'edge'} />`
    })}
    <circle cx=${cx} cy=${cy} r="9" class="me" />
    <text x=${cx} y=${cy + 22} class="label">${state.name}</text>
    ${nodes.map((p, i) => {
      const [x, y] = at(i)
      return html`<g>
        <circle cx=${x} cy=${y} r="7" class=${`peer ${p.status}`} />
        <text x=${x} y=${y + 18} class="label">${p.name}</text>
      </g>`
    })}
  </svg>`
}

function Health({ s }) {
  if (s == null) return null
  const rows = [
    ['agent', `${s.card.name} (${s.card.id})`],
    ['mesh fingerprint', `${s.mesh.fingerprint}${s.mesh.open ? ' (open mesh)' : ''}`],
    ['addresses', s.addrs.join('\n')],
    [
      'peers',
      `${s.peers.online} online, ${s.peers.stale} stale, ${s.peers.offline} offline, ${s.peers.connected} connected`,
    ],
    ['outbox (broadcasts pending)', String(s.broadcastsPending)],
    [
      'store',
      s.store != null
        ? `${bytes(s.store.dbBytes + s.store.walBytes)} (database ${bytes(s.store.dbBytes)}, log ${bytes(s.store.walBytes)})`
        : 'unknown',
    ],
    ['data dir', s.dataDir],
    ['uptime', duration(s.uptimeMs)],
  ]
  return html`<table class="kv" data-testid="health">
    ${rows.map(([k, v]) => html`<tr><th>${k}</th><td><pre>${v}</pre></td></tr>`)}
  </table>`
}

export function Mesh() {
  const conns = state.status?.connections ?? []
  return html`<section class="grid2">
      <div>
        <h2>Agents (${state.peers.length})</h2>
        <table class="list" data-testid="agents">
          <thead>
            <tr><th>name</th><th>capabilities</th><th>description</th><th>status</th><th>load</th>
            <th>machine</th><th>reached</th><th>last seen</th></tr>
          </thead>
          <tbody>
            ${state.peers.map(
              (p) => html`<tr data-testid="agent-row" data-id=${p.id}>
                <td>${p.name}${p.kind === 'hosted' ? html` <small>(hosted by ${p.hostedBy?.name})</small>` : null}</td>
                <td>${p.caps.join(', ')}</td>
                <td>${p.description}</td>
                <td><span class=${`badge ${p.status}`}>${p.status}</span></td>
                <td>${p.load}</td>
                <td>${p.machine}</td>
                <td>${reached(p, conns)}</td>
                <td>${ago(p.lastSeen)}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
      <div>
        <h2>Connections</h2>
        <${Graph} peers=${state.peers} conns=${conns} />
        <h2>This node</h2>
        <${Health} s=${state.status} />
      </div>
    </section>`
}
