// The page's side of the dashboard API: the token as a header on every call, the chosen node as `node`.
const token = document.querySelector('meta[name="clawlink-token"]')?.getAttribute('content') ?? ''
let node = ''

export function setNode(dataDir) {
  node = dataDir
}

export function query(params = {}) {
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v != null && v !== '') p.set(k, String(v))
  if (node !== '') p.set('node', node)
  return p.toString()
}

async function answer(res) {
  const json = await res.json().catch(() => null)
  if (!res.ok) throw new Error(json?.error?.message ?? `HTTP ${res.status}`)
  return json
}

export async function get(path, params) {
  return answer(await fetch(`${path}?${query(params)}`, { headers: { 'x-clawlink-token': token } }))
}

export async function post(path, body) {
  const headers = { 'content-type': 'application/json', 'x-clawlink-token': token }
  return answer(await fetch(`${path}?${query()}`, { method: 'POST', headers, body: JSON.stringify(body) }))
}

export function downloadUrl(key, version) {
  return `/api/files/download?${query({ key, version })}`
}

export function eventSource() {
  return new EventSource(`/api/events?${query()}`)
}
