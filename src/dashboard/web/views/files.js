// Files: the key tree, a key's history (conflicts marked), a text diff of two versions, a download of
// any version, and an upload that only lands on the version shown (compare-and-swap).
import { html } from 'htm/preact'
import { useEffect, useState } from 'preact/hooks'
import * as api from '../api.js'
import { diffLines } from '../diff.js'
import { changed, state } from '../store.js'
import { action, bytes, field, Msg, time } from '../util.js'

function toBase64(buf) {
  const u8 = new Uint8Array(buf)
  let s = ''
  for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000))
  return btoa(s)
}

function Upload({ file }) {
  const [msg, setMsg] = useState()
  const submit = action(setMsg, async (f) => {
    const key = file?.key ?? field(f, 'key').trim()
    const picked = f.elements.namedItem('file').files[0]
    const body = { key, base: file != null ? file.version : 0 }
    if (picked != null) body.base64 = toBase64(await picked.arrayBuffer())
    else body.text = field(f, 'text')
    const saved = await api.post('/api/files/put', body)
    // the node sends no event for its own writes
    state.files = [...state.files.filter((x) => x.key !== saved.key), saved]
    changed()
    f.reset()
    return `saved ${saved.key} as version ${saved.version}`
  })
  return html`<form class="card" onSubmit=${submit} data-testid="upload-form">
    <h3>${file != null ? `Upload a new version of ${file.key} (over version ${file.version})` : 'Upload a new file'}</h3>
    ${file == null ? html`<label>key <input name="key" required placeholder="notes/plan.md" /></label>` : null}
    <label>file <input type="file" name="file" /></label>
    <label>or text <textarea name="text" rows="3"></textarea></label>
    <button type="submit">Upload</button>
    <${Msg} msg=${msg} />
  </form>`
}

function Diff({ file, history }) {
  const [a, setA] = useState('')
  const [b, setB] = useState('')
  const [lines, setLines] = useState(null)
  const [msg, setMsg] = useState()
  const run = action(setMsg, async () => {
    const [x, y] = await Promise.all([
      api.get('/api/files/text', { key: file.key, version: a }),
      api.get('/api/files/text', { key: file.key, version: b }),
    ])
    setLines(diffLines(x.text, y.text))
    return x.truncated || y.truncated ? 'compared the first MiB of each' : 'compared'
  })
  const opts = history.map((v) => html`<option value=${v.version}>v${v.version}</option>`)
  return html`<form class="card" onSubmit=${run} data-testid="diff-form">
    <h3>Compare two versions</h3>
    <select onChange=${(e) => setA(e.currentTarget.value)} name="a"><option value="">—</option>${opts}</select>
    <select onChange=${(e) => setB(e.currentTarget.value)} name="b"><option value="">—</option>${opts}</select>
    <button type="submit" disabled=${a === '' || b === ''}>Diff</button>
    <${Msg} msg=${msg} />
    ${lines != null ? html`<pre class="diff" data-testid="diff">${lines.map((l) => html`<span class=${l.op === '+' ? 'add' : l.op === '-' ? 'del' : ''}>${l.op} ${l.line}\n</span>`)}</pre>` : null}
  </form>`
}

function Key({ file }) {
  const [history, setHistory] = useState([])
  const [msg, setMsg] = useState()
  useEffect(() => {
    api
      .get('/api/files/history', { key: file.key })
      .then(setHistory, (e) => setMsg({ text: e.message, ok: false }))
  }, [file.key, file.version, file.versions])
  return html`<div>
    <div class="card" data-testid="file-detail">
      <h3>${file.key}</h3>
      <${Msg} msg=${msg} />
      <table class="list" data-testid="history">
        <thead><tr><th>version</th><th>base</th><th>author</th><th>time</th><th>size</th><th></th><th></th></tr></thead>
        <tbody>
          ${history.map(
            (v) => html`<tr class=${v.conflict ? 'conflict' : ''}>
              <td>v${v.version}${v.winner ? ' (current)' : ''}</td><td>${v.base}</td><td>${v.author.name}</td>
              <td>${time(v.time)}</td><td>${v.deleted ? 'deleted' : bytes(v.size)}</td>
              <td>${v.conflict ? html`<span class="badge failed">conflict</span>` : null}</td>
              <td>${v.deleted ? null : html`<a href=${api.downloadUrl(file.key, v.version)} download>download</a>`}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
    <${Diff} file=${file} history=${history.filter((v) => !v.deleted)} />
    <${Upload} file=${file} />
  </div>`
}

export function Files() {
  const [selected, setSelected] = useState('')
  const files = [...state.files].sort((a, b) => a.key.localeCompare(b.key))
  const current = files.find((f) => f.key === selected)
  return html`<section class="grid2">
    <div>
      <h2>Keys (${files.length})</h2>
      <ul class="tree" data-testid="file-tree">
        ${files.map((f) => {
          const parts = f.key.split('/')
          return html`<li data-testid="file-row" data-key=${f.key} class=${f.key === selected ? 'sel' : ''}
            onClick=${() => setSelected(f.key)}>
            <span class="indent">${'  '.repeat(parts.length - 1)}</span>${parts.length > 1 ? html`<small>${parts.slice(0, -1).join('/')}/</small>` : null}${parts.at(-1)}
            <small> v${f.version} · ${f.deleted ? 'deleted' : bytes(f.size)} · ${f.author.name}</small>
            ${f.conflict ? html` <span class="badge failed">conflict</span>` : null}
          </li>`
        })}
      </ul>
    </div>
    <div>${current != null ? html`<${Key} file=${current} />` : html`<${Upload} />`}</div>
  </section>`
}
