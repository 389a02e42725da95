// Tasks: both directions, filtered; one task's timeline, context and result; delegate, respond, cancel.
import { html } from 'htm/preact'
import { useEffect, useState } from 'preact/hooks'
import * as api from '../api.js'
import { fail, putTask, refreshTask, state } from '../store.js'
import { action, field, Msg, Pre, time } from '../util.js'

const OPEN = ['submitted', 'delivered', 'working']
const isOpen = (t) => !['completed', 'failed', 'rejected', 'canceled', 'expired'].includes(t.state)

function Delegate() {
  const [msg, setMsg] = useState()
  const submit = action(setMsg, async (f) => {
    const target = field(f, 'target').trim()
    const byCap = field(f, 'by') === 'cap'
    const t = await api.post('/api/delegate', {
      [byCap ? 'cap' : 'to']: target,
      task: field(f, 'task'),
      context: field(f, 'context') || undefined,
      priority: field(f, 'priority'),
    })
    putTask(t)
    f.reset()
    return `delegated ${t.id} to ${t.to.name}`
  })
  return html`<form class="card" onSubmit=${submit} data-testid="delegate-form">
    <h3>Delegate a task</h3>
    <label>to <select name="by"><option value="to">agent name</option><option value="cap">capability</option></select>
      <input name="target" required placeholder="name or capability" /></label>
    <label>task <textarea name="task" required rows="3"></textarea></label>
    <label>context (JSON, optional) <textarea name="context" rows="2"></textarea></label>
    <label>priority <select name="priority">
      ${['normal', 'low', 'high', 'urgent'].map((p) => html`<option>${p}</option>`)}
    </select></label>
    <button type="submit">Delegate</button>
    <${Msg} msg=${msg} />
  </form>`
}

function Detail({ t }) {
  const [msg, setMsg] = useState()
  const respond = action(setMsg, async (f) => {
    putTask(
      await api.post('/api/respond', { id: t.id, status: field(f, 'status'), result: field(f, 'result') }),
    )
  })
  const cancel = action(setMsg, async (f) => {
    putTask(await api.post('/api/cancel', { id: t.id, reason: field(f, 'reason') || undefined }))
  })
  // the node's record of every state, not only those this page saw
  useEffect(() => {
    refreshTask(t.id).catch(fail)
  }, [t.id])
  const steps = state.timelines.get(t.id) ?? []
  return html`<div class="card" data-testid="task-detail">
    <h3>${t.id}</h3>
    <p><b>${t.direction === 'sent' ? 'to' : 'from'}</b> ${t.direction === 'sent' ? t.to.name : t.from.name}
      · ${t.priority} · <span class=${`badge ${t.state}`}>${t.state}</span></p>
    <h4>Task</h4><${Pre} value=${t.task} testid="task-text" />
    <h4>Timeline</h4>
    <ol data-testid="timeline">${steps.map((s) => html`<li>${time(s.at)} ${s.state}</li>`)}</ol>
    <h4>Context</h4><${Pre} value=${t.context ?? '(none)'} testid="task-context" />
    <h4>Result</h4><${Pre} value=${t.result ?? t.reason ?? '(none yet)'} testid="task-result" />
    ${
      isOpen(t) && t.direction === 'received'
        ? html`<form onSubmit=${respond} data-testid="respond-form">
            <select name="status">${['working', 'completed', 'failed', 'rejected'].map((s) => html`<option>${s}</option>`)}</select>
            <textarea name="result" rows="2" placeholder="result"></textarea>
            <button type="submit">Respond</button>
          </form>`
        : null
    }
    ${
      isOpen(t) && t.direction === 'sent'
        ? html`<form onSubmit=${cancel} data-testid="cancel-form">
            <input name="reason" placeholder="reason (optional)" />
            <button type="submit">Cancel task</button>
          </form>`
        : null
    }
    <${Msg} msg=${msg} />
  </div>`
}

export function Tasks() {
  const [filter, setFilter] = useState({ state: '', peer: '', text: '' })
  const [selected, setSelected] = useState('')
  const set = (k) => (e) => setFilter({ ...filter, [k]: e.currentTarget.value })
  const want = (t) =>
    (filter.state === '' || (filter.state === 'open' ? isOpen(t) : t.state === filter.state)) &&
    (filter.peer === '' || `${t.from.name} ${t.to.name}`.toLowerCase().includes(filter.peer.toLowerCase())) &&
    (filter.text === '' || `${t.task} ${t.result ?? ''}`.toLowerCase().includes(filter.text.toLowerCase()))
  const list = [...state.tasks.values()].filter(want).sort((a, b) => b.createdAt.localeCompare(a.createdAt))
  const shown = list.slice(0, 500)
  const current = state.tasks.get(selected)
  return html`<section class="grid2">
    <div>
      <div class="filters">
        <select onChange=${set('state')} data-testid="filter-state">
          <option value="">all states</option><option value="open">open</option>
          ${['completed', 'failed', 'rejected', 'canceled', 'expired', ...OPEN].map((s) => html`<option>${s}</option>`)}
        </select>
        <input placeholder="peer" onInput=${set('peer')} data-testid="filter-peer" />
        <input placeholder="text" onInput=${set('text')} data-testid="filter-text" />
      </div>
      <table class="list" data-testid="tasks">
        <thead><tr><th></th><th>peer</th><th>task</th><th>state</th><th>updated</th></tr></thead>
        <tbody>
          ${shown.map(
            (t) => html`<tr data-testid="task-row" data-id=${t.id} data-state=${t.state}
              class=${t.id === selected ? 'sel' : ''} onClick=${() => setSelected(t.id)}>
              <td>${t.direction === 'sent' ? '→' : '←'}</td>
              <td>${t.direction === 'sent' ? t.to.name : t.from.name}</td>
              <td class="clip">${t.task}</td>
              <td><span class=${`badge ${t.state}`}>${t.state}</span></td>
              <td>${time(t.updatedAt)}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${list.length > shown.length ? html`<p class="note">${list.length - shown.length} more: filter to see them</p>` : null}
    </div>
    <div>${current != null ? html`<${Detail} t=${current} />` : null}<${Delegate} /></div>
  </section>`
}
