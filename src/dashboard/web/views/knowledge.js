// Knowledge: the broadcast feed by topic and tag, a text search, and a form to post one.
import { html } from 'htm/preact'
import { useState } from 'preact/hooks'
import * as api from '../api.js'
import { changed, state } from '../store.js'
import { action, field, Msg, time } from '../util.js'

function Post() {
  const [msg, setMsg] = useState()
  const submit = action(setMsg, async (f) => {
    const tags = field(f, 'tags')
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '')
    const b = await api.post('/api/broadcast', {
      content: field(f, 'content'),
      topic: field(f, 'topic'),
      tags,
    })
    if (!state.knowledge.some((k) => k.id === b.id)) state.knowledge.unshift(b)
    changed()
    f.reset()
    return 'broadcast sent'
  })
  return html`<form class="card" onSubmit=${submit} data-testid="broadcast-form">
    <h3>Post a broadcast</h3>
    <label>topic <input name="topic" placeholder="general" /></label>
    <label>tags (comma separated) <input name="tags" /></label>
    <label>content <textarea name="content" rows="4" required></textarea></label>
    <button type="submit">Broadcast</button>
    <${Msg} msg=${msg} />
  </form>`
}

export function Knowledge() {
  const [topic, setTopic] = useState('')
  const [tag, setTag] = useState('')
  const [text, setText] = useState('')
  const topics = [...new Set(state.knowledge.map((b) => b.topic))].sort()
  const tags = [...new Set(state.knowledge.flatMap((b) => b.tags))].sort()
  const q = text.toLowerCase()
  const list = state.knowledge.filter(
    (b) =>
      (topic === '' || b.topic === topic) &&
      (tag === '' || b.tags.includes(tag)) &&
      (q === '' || `${b.content} ${b.author.name}`.toLowerCase().includes(q)),
  )
  return html`<section class="grid2">
    <div>
      <div class="filters">
        <select onChange=${(e) => setTopic(e.currentTarget.value)} data-testid="filter-topic">
          <option value="">all topics</option>${topics.map((t) => html`<option>${t}</option>`)}
        </select>
        <select onChange=${(e) => setTag(e.currentTarget.value)} data-testid="filter-tag">
          <option value="">all tags</option>${tags.map((t) => html`<option>${t}</option>`)}
        </select>
        <input placeholder="search" onInput=${(e) => setText(e.currentTarget.value)} data-testid="search" />
      </div>
      <ul class="feed" data-testid="feed">
        ${list.slice(0, 300).map(
          (b) => html`<li data-testid="broadcast" data-id=${b.id}>
            <div class="meta">${time(b.time)} · ${b.author.name} · <b>${b.topic}</b>
              ${b.tags.map((t) => html` <span class="tag">${t}</span>`)}</div>
            <pre>${b.content}</pre>
          </li>`,
        )}
      </ul>
    </div>
    <div><${Post} /></div>
  </section>`
}
