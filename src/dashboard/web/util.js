// Small helpers the views share.
import { html } from 'htm/preact'

export function ago(iso) {
  const t = Date.parse(iso)
  if (!Number.isFinite(t)) return ''
  const s = Math.round((Date.now() - t) / 1000)
  if (s < 60) return `${s}s ago`
  if (s < 3600) return `${Math.round(s / 60)}m ago`
  if (s < 86400) return `${Math.round(s / 3600)}h ago`
  return `${Math.round(s / 86400)}d ago`
}

export function time(iso) {
  const t = new Date(iso)
  return Number.isNaN(t.getTime()) ? '' : t.toLocaleTimeString()
}

export function duration(ms) {
  const s = Math.floor(ms / 1000)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  return h > 0 ? `${h}h ${m}m` : `${m}m ${s % 60}s`
}

export function bytes(n) {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

/** A value from a form field by name. */
export function field(form, name) {
  const el = form.elements.namedItem(name)
  return el == null ? '' : el.value
}

/** Runs an action of a form, showing its error under it instead of throwing. */
export function action(setMsg, fn) {
  return async (e) => {
    e.preventDefault()
    const form = e.currentTarget
    setMsg({ text: 'working…', ok: true })
    try {
      const text = await fn(form)
      setMsg({ text: text ?? 'done', ok: true })
    } catch (err) {
      setMsg({ text: err.message, ok: false })
    }
  }
}

export function Msg({ msg }) {
  if (msg == null) return null
  return html`<p class=${msg.ok ? 'note' : 'error'} data-testid="form-msg">${msg.text}</p>`
}

export function Pre({ value, testid }) {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2)
  return html`<pre data-testid=${testid}>${text}</pre>`
}
