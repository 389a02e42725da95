// The page's state: a snapshot of the node, then kept current by the node's events (Server-Sent Events
// relaying its watch stream). Views read `state` and re-render on `onChange`.
import * as api from './api.js'

export const state = {
  nodes: [],
  node: '',
  up: false,
  error: '',
  name: '',
  status: null,
  peers: [],
  tasks: new Map(),
  timelines: new Map(),
  knowledge: [],
  files: [],
  activity: [],
  loadedMs: 0,
}

const ACTIVITY_MAX = 1000
const listeners = new Set()
let pending = false
let source

export function onChange(fn) {
  listeners.add(fn)
  return () => listeners.delete(fn)
}

export function changed() {
  if (pending) return
  pending = true
  queueMicrotask(() => {
    pending = false
    for (const fn of listeners) fn()
  })
}

export function fail(err) {
  state.error = err?.message ?? String(err)
  changed()
}

function timeline(id, st, at) {
  const list = state.timelines.get(id) ?? []
  if (list.at(-1)?.state !== st) list.push({ state: st, at })
  state.timelines.set(id, list)
}

/** A task as the node shows it; with `history` (a task asked for by id) its timeline is the node's own. */
export function putTask(t) {
  const { history, ...task } = t
  state.tasks.set(t.id, task)
  if (Array.isArray(history) && history.length > 0) {
    state.timelines.set(
      t.id,
      history.map((h) => ({ state: h.state, at: h.at })),
    )
  } else {
    if (!state.timelines.has(t.id)) timeline(t.id, 'submitted', t.createdAt)
    if (t.state !== 'submitted') timeline(t.id, t.state, t.updatedAt)
  }
  changed()
}

export async function loadSnapshot() {
  const started = performance.now()
  const snap = await api.get('/api/snapshot')
  state.name = snap.node.name
  state.status = snap.status
  state.peers = snap.peers
  state.tasks = new Map()
  for (const t of snap.tasks) putTask(t)
  state.knowledge = snap.knowledge
  state.files = snap.files
  state.error = ''
  state.loadedMs = performance.now() - started
  changed()
}

export async function loadNodes() {
  state.nodes = await api.get('/api/nodes')
  if (state.node === '') state.node = state.nodes.find((n) => n.default)?.dataDir ?? ''
  changed()
}

export async function refreshTasks() {
  for (const t of await api.get('/api/tasks')) putTask(t)
}

/** Reads one task again, with its durable history of states. */
export async function refreshTask(id) {
  const [t] = await api.get('/api/tasks', { id })
  if (t != null) putTask(t)
}

let statusTimer
function refreshStatusSoon() {
  clearTimeout(statusTimer)
  statusTimer = setTimeout(() => {
    Promise.all([api.get('/api/status'), api.get('/api/peers')]).then(([s, p]) => {
      state.status = s
      state.peers = p
      changed()
    }, fail)
  }, 300)
}

/** Applies one event at once from its own fields, then fetches the full record behind it. */
function apply(e) {
  const now = Date.now()
  const at = Date.parse(e.timestamp)
  state.activity.unshift({ ...e, receivedAt: now, latencyMs: Number.isFinite(at) ? now - at : null })
  if (state.activity.length > ACTIVITY_MAX) state.activity.length = ACTIVITY_MAX
  if (e.type === 'task_sent') {
    // this node's agent delegated it, through the page or any other client
    if (!state.tasks.has(e.id)) {
      putTask({
        id: e.id,
        direction: 'sent',
        from: e.from,
        to: e.to,
        task: e.task ?? '',
        context: e.context ?? null,
        priority: e.priority,
        state: e.state ?? 'submitted',
        result: null,
        reason: null,
        createdAt: e.timestamp,
        updatedAt: e.timestamp,
        ...(e.toAgent != null ? { toAgent: e.toAgent } : {}),
      })
    }
    refreshTask(e.id).catch(fail)
  } else if (e.type === 'task' || e.type === 'task_update') {
    const known = state.tasks.get(e.id)
    if (known != null) {
      putTask({
        ...known,
        state: e.state ?? known.state,
        result: e.result ?? known.result,
        reason: e.reason ?? known.reason,
        updatedAt: e.timestamp,
      })
    } else if (e.type === 'task') {
      putTask({
        id: e.id,
        direction: 'received',
        from: e.from,
        to: e.to,
        task: e.task ?? '',
        context: e.context ?? null,
        priority: e.priority,
        state: 'submitted',
        result: null,
        reason: null,
        createdAt: e.timestamp,
        updatedAt: e.timestamp,
      })
    }
    refreshTask(e.id).catch(fail)
  } else if (e.type === 'broadcast') {
    const b = { id: e.id, author: e.from, topic: e.topic, tags: e.tags ?? [], content: e.content ?? '' }
    state.knowledge.unshift({ ...b, time: e.timestamp, receivedAt: e.timestamp })
  } else if (e.type === 'file_updated') {
    api.get('/api/files').then((f) => {
      state.files = f
      changed()
    }, fail)
  } else if (e.type?.startsWith('peer_')) {
    const i = state.peers.findIndex((p) => p.id === e.peer.id)
    if (i >= 0) state.peers[i] = e.peer
    else state.peers.push(e.peer)
    refreshStatusSoon()
  }
  changed()
}

/** Opens the live stream of the chosen node; a restart of the node reloads the snapshot. */
export function connect() {
  source?.close()
  source = api.eventSource()
  let opened = false
  // the browser reconnects a dropped stream by itself; what happened meanwhile comes with a reload
  source.onopen = () => {
    if (opened) loadSnapshot().catch(fail)
    opened = true
  }
  source.onmessage = (m) => {
    let e
    try {
      e = JSON.parse(m.data)
    } catch {
      return
    }
    if (e.type === 'node') {
      const wasUp = state.up
      state.up = e.state === 'up'
      if (state.up && !wasUp) loadSnapshot().catch(fail)
      else if (!state.up) state.error = e.message ?? 'the node is not running'
      changed()
      return
    }
    apply(e)
  }
}

export async function chooseNode(dataDir) {
  state.node = dataDir
  api.setNode(dataDir)
  state.activity = []
  state.timelines = new Map()
  connect()
  await loadSnapshot().catch(fail)
}
