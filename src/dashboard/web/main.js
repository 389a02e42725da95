// The dashboard page: a node selector, five views, and the live state of store.js. Every text from the
// mesh goes into the page as a text node (htm/Preact children), never as markup.
import { html, render } from 'htm/preact'
import { useEffect, useState } from 'preact/hooks'
import * as api from './api.js'
import { chooseNode, connect, fail, loadNodes, loadSnapshot, onChange, refreshTasks, state } from './store.js'
import { Activity } from './views/activity.js'
import { Files } from './views/files.js'
import { Knowledge } from './views/knowledge.js'
import { Mesh } from './views/mesh.js'
import { Tasks } from './views/tasks.js'

const VIEWS = { mesh: Mesh, tasks: Tasks, knowledge: Knowledge, files: Files, activity: Activity }

function viewFromHash() {
  const v = location.hash.slice(1)
  return Object.hasOwn(VIEWS, v) ? v : 'mesh'
}

function NodeSelector() {
  return html`<select
    data-testid="node-select"
    value=${state.node}
    onChange=${(e) => chooseNode(e.currentTarget.value)}
  >
    ${state.nodes.map((n) => html`<option value=${n.dataDir}>${n.name} (${n.dataDir})</option>`)}
  </select>`
}

function App() {
  const [, setTick] = useState(0)
  const [view, setView] = useState(viewFromHash())
  useEffect(() => onChange(() => setTick((t) => t + 1)), [])
  useEffect(() => {
    const onHash = () => setView(viewFromHash())
    window.addEventListener('hashchange', onHash)
    return () => window.removeEventListener('hashchange', onHash)
  }, [])
  const View = VIEWS[view]
  return html`
    <header>
      <h1>ClawLink</h1>
      <${NodeSelector} />
      <span class=${state.up ? 'badge ok' : 'badge bad'} data-testid="node-state">
        ${state.up ? `live: ${state.name}` : 'node not running'}
      </span>
      <nav>
        ${Object.keys(VIEWS).map(
          (v) =>
            html`<a href=${`#${v}`} class=${v === view ? 'active' : ''} data-testid=${`nav-${v}`}>${v}</a>`,
        )}
      </nav>
    </header>
    ${state.error !== '' ? html`<p class="error" data-testid="error">${state.error}</p>` : null}
    <main data-testid=${`view-${view}`}><${View} /></main>
  `
}

async function start() {
  const root = document.getElementById('app')
  root.textContent = ''
  render(html`<${App} />`, root)
  // tasks this node sends through other clients (CLI, MCP) raise no event here until their first
  // update: a person coming back to the tab gets them without a polling loop
  window.addEventListener('focus', () => refreshTasks().catch(fail))
  try {
    await loadNodes()
    api.setNode(state.node)
  } catch (err) {
    fail(err)
  }
  connect()
  await loadSnapshot().catch(fail)
  // after the frame that shows the snapshot: the first render's time since navigation (the benchmark)
  requestAnimationFrame(() => {
    document.body.dataset.renderedMs = String(Math.round(performance.now()))
    document.body.dataset.snapshotMs = String(Math.round(state.loadedMs))
    document.body.dataset.ready = '1'
  })
}

start()
