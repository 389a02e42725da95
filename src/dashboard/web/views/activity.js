// Activity: the live event stream, tasks per minute, and how long events took from the node to the page.
import { html } from 'htm/preact'
import { state } from '../store.js'
import { time } from '../util.js'

const MINUTES = 30

function summary(e) {
  if (e.type === 'task') return `${e.from?.name} → ${e.to?.name}: ${e.task ?? ''}`
  if (e.type === 'task_sent') return `${e.from?.name} → ${e.to?.name}: ${e.task ?? ''}`
  if (e.type === 'task_update') return `${e.id} is ${e.state}${e.result != null ? `: ${e.result}` : ''}`
  if (e.type === 'broadcast') return `${e.from?.name} on ${e.topic}: ${e.content ?? ''}`
  if (e.type === 'file_updated') return `${e.key} v${e.version} by ${e.from?.name}`
  if (e.type?.startsWith('peer_')) return `${e.peer?.name} ${e.reason ?? ''}`
  return ''
}

function TasksPerMinute() {
  const now = Date.now()
  const counts = new Array(MINUTES).fill(0)
  for (const t of state.tasks.values()) {
    const age = Math.floor((now - Date.parse(t.createdAt)) / 60_000)
    if (age >= 0 && age < MINUTES) counts[MINUTES - 1 - age]++
  }
  const max = Math.max(1, ...counts)
  return html`<svg class="chart" viewBox="0 0 300 100" role="img" aria-label="tasks per minute" data-testid="tasks-chart">
    ${counts.map((c, i) => html`<rect x=${i * 10 + 1} y=${95 - (c / max) * 90} width="8" height=${(c / max) * 90} />`)}
    <text x="2" y="10" class="label">max ${max}/min, last ${MINUTES} min</text>
  </svg>`
}

function Latency() {
  const ms = state.activity
    .map((e) => e.latencyMs)
    .filter((v) => v != null && v >= 0)
    .slice(0, 100)
  if (ms.length === 0) return html`<p class="note">no event yet</p>`
  const sorted = [...ms].sort((a, b) => a - b)
  const median = sorted[Math.floor(sorted.length / 2)]
  const p95 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))]
  const max = Math.max(1, ...ms)
  const points = [...ms]
    .reverse()
    .map((v, i) => `${(i / Math.max(1, ms.length - 1)) * 300},${95 - (v / max) * 90}`)
  return html`<div>
    <p data-testid="latency">median ${median} ms, p95 ${p95} ms over the last ${ms.length} events</p>
    <svg class="chart" viewBox="0 0 300 100" role="img" aria-label="latency"><polyline points=${points.join(' ')} /></svg>
  </div>`
}

export function Activity() {
  return html`<section class="grid2">
    <div>
      <h2>Live events</h2>
      <table class="list" data-testid="events">
        <thead><tr><th>time</th><th>event</th><th>what</th><th>latency</th></tr></thead>
        <tbody>
          ${state.activity.slice(0, 300).map(
            (e) => html`<tr data-testid="event-row" data-type=${e.type} data-latency=${e.latencyMs}>
              <td>${time(new Date(e.receivedAt).toISOString())}</td><td>${e.type}</td>
              <td class="clip">${summary(e)}</td><td>${e.latencyMs != null ? `${e.latencyMs} ms` : ''}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
    <div>
      <h2>Tasks per minute</h2><${TasksPerMinute} />
      <h2>Delivery latency</h2><${Latency} />
    </div>
  </section>`
}
