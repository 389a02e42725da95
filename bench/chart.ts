// A small dependency-free SVG line chart, and the scale benchmark's charts drawn from its results.
// `node bench/chart.ts` redraws them from bench/results/scale.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface Series {
  name: string
  points: Array<[number, number]>
  /** a dashed line */
  dashed?: boolean
}

export interface ChartSpec {
  title: string
  xLabel: string
  yLabel: string
  series: Series[]
  /** horizontal reference lines, e.g. a target */
  marks?: Array<{ y: number; label: string }>
  width?: number
  height?: number
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf']
const MAX_SERIES = COLORS.length
const MAX_POINTS = 1000

function xmlText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** A round step so that [0, max] has about `count` ticks: 1, 2 or 5 times a power of ten. */
export function niceStep(max: number, count = 5): number {
  if (!(max > 0)) return 1
  const raw = max / count
  const power = 10 ** Math.floor(Math.log10(raw))
  const m = raw / power
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power
}

function label(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(3)))
}

export function lineChart(spec: ChartSpec): string {
  if (spec.series.length === 0 || spec.series.length > MAX_SERIES) {
    throw new Error(`a chart takes 1-${MAX_SERIES} series`)
  }
  const all = spec.series.flatMap((s) => s.points)
  if (
    all.length === 0 ||
    all.length > MAX_POINTS ||
    all.some(([x, y]) => !Number.isFinite(x) || !Number.isFinite(y))
  ) {
    throw new Error(`a chart takes 1-${MAX_POINTS} finite points`)
  }
  const width = spec.width ?? 640
  const height = spec.height ?? 400
  const pad = { left: 70, right: 20, top: 40, bottom: 90 }
  const plotW = width - pad.left - pad.right
  const plotH = height - pad.top - pad.bottom
  const xs = [...new Set(all.map(([x]) => x))].sort((a, b) => a - b)
  const xMin = Math.min(0, xs[0]!)
  const xMax = xs.at(-1)! === xMin ? xMin + 1 : xs.at(-1)!
  const yTop = Math.max(...all.map(([, y]) => y), ...(spec.marks ?? []).map((m) => m.y))
  const yStep = niceStep(yTop)
  const yMax = Math.max(yStep, Math.ceil((yTop * 1.05) / yStep) * yStep)
  const px = (x: number) => pad.left + ((x - xMin) / (xMax - xMin)) * plotW
  const py = (y: number) => pad.top + plotH - (Math.max(0, y) / yMax) * plotH
  const out: string[] = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${xmlText(spec.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${xmlText(spec.title)}</text>`,
  )
  for (let y = 0; y <= yMax + yStep / 1e6; y += yStep) {
    out.push(
      `<line x1="${pad.left}" x2="${pad.left + plotW}" y1="${py(y)}" y2="${py(y)}" stroke="#e5e5e5"/>`,
      `<text x="${pad.left - 8}" y="${py(y) + 4}" text-anchor="end">${label(y)}</text>`,
    )
  }
  for (const x of xs) {
    out.push(
      `<line x1="${px(x)}" x2="${px(x)}" y1="${pad.top + plotH}" y2="${pad.top + plotH + 5}" stroke="#333"/>`,
      `<text x="${px(x)}" y="${pad.top + plotH + 19}" text-anchor="middle">${label(x)}</text>`,
    )
  }
  out.push(
    `<line x1="${pad.left}" x2="${pad.left + plotW}" y1="${pad.top + plotH}" y2="${pad.top + plotH}" stroke="#333"/>`,
    `<line x1="${pad.left}" x2="${pad.left}" y1="${pad.top}" y2="${pad.top + plotH}" stroke="#333"/>`,
    `<text x="${pad.left + plotW / 2}" y="${pad.top + plotH + 38}" text-anchor="middle">${xmlText(spec.xLabel)}</text>`,
    `<text transform="translate(18 ${pad.top + plotH / 2}) rotate(-90)" text-anchor="middle">${xmlText(spec.yLabel)}</text>`,
  )
  for (const m of spec.marks ?? []) {
    out.push(
      `<line x1="${pad.left}" x2="${pad.left + plotW}" y1="${py(m.y)}" y2="${py(m.y)}" stroke="#888" stroke-dasharray="2 4"/>`,
      `<text x="${pad.left + plotW - 4}" y="${py(m.y) - 5}" text-anchor="end" fill="#555">${xmlText(m.label)}</text>`,
    )
  }
  for (const [i, s] of spec.series.entries()) {
    const color = COLORS[i]!
    const pts = [...s.points].sort((a, b) => a[0] - b[0])
    const dash = s.dashed === true ? ' stroke-dasharray="6 4"' : ''
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`,
    )
    for (const [x, y] of pts) {
      out.push(
        `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3.5" fill="${color}"><title>${xmlText(s.name)}: ${label(y)} at ${label(x)}</title></circle>`,
      )
    }
    // legend below the axis label, two entries per row
    const lx = pad.left + (i % 2) * (plotW / 2)
    const ly = pad.top + plotH + 58 + Math.floor(i / 2) * 16
    out.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 28}" y="${ly}">${xmlText(s.name)}</text>`,
    )
  }
  out.push('</svg>')
  return `${out.join('\n')}\n`
}

/** The fields of a scale run that the charts draw. */
export interface ScaleFigures {
  nodes: number
  convergeFromLastStartMs: number
  broadcastMedianMs: number
  broadcastP99Ms: number
  taskMedianMs: number
  taskP99Ms: number
  rssMedianMiB: number
  pssMeanMiB: number
  ussMeanMiB: number
  idleCpuPercentOfOneCore: number
}

const IMG = fileURLToPath(new URL('../docs/img/', import.meta.url))

/** Writes docs/img/scale-*.svg; returns their paths. */
export function writeScaleCharts(runs: ScaleFigures[]): string[] {
  const at = (f: (r: ScaleFigures) => number): Array<[number, number]> => runs.map((r) => [r.nodes, f(r)])
  const x = 'mesh size (node processes)'
  const charts: Record<string, ChartSpec> = {
    'scale-latency.svg': {
      title: 'Latency against mesh size',
      xLabel: x,
      yLabel: 'ms',
      series: [
        { name: 'broadcast reaches all: median', points: at((r) => r.broadcastMedianMs) },
        { name: 'broadcast reaches all: p99', points: at((r) => r.broadcastP99Ms), dashed: true },
        { name: 'delegate → poll (busy mesh): median', points: at((r) => r.taskMedianMs) },
        { name: 'delegate → poll (busy mesh): p99', points: at((r) => r.taskP99Ms), dashed: true },
      ],
      marks: [{ y: 500, label: 'target: broadcast p99 500 ms' }],
    },
    'scale-memory.svg': {
      title: 'Memory per idle node against mesh size',
      xLabel: x,
      yLabel: 'MiB per node',
      series: [
        { name: 'RSS (median)', points: at((r) => r.rssMedianMiB) },
        { name: 'PSS (shared pages divided, mean)', points: at((r) => r.pssMeanMiB) },
        { name: 'USS (private pages, mean)', points: at((r) => r.ussMeanMiB) },
      ],
      marks: [{ y: 80, label: 'target: RSS 80 MB' }],
    },
    'scale-idle.svg': {
      title: 'Convergence and idle CPU against mesh size',
      xLabel: x,
      yLabel: 's  /  % of one core',
      series: [
        {
          name: 'everyone lists everyone (s from last start)',
          points: at((r) => r.convergeFromLastStartMs / 1000),
        },
        { name: 'idle mesh CPU (% of one core, all nodes)', points: at((r) => r.idleCpuPercentOfOneCore) },
      ],
      marks: [{ y: 10, label: 'targets: 10 s, 10 %' }],
    },
  }
  mkdirSync(IMG, { recursive: true })
  return Object.entries(charts).map(([name, spec]) => {
    const path = join(IMG, name)
    writeFileSync(path, lineChart(spec))
    return path
  })
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = fileURLToPath(new URL('./results/scale.json', import.meta.url))
  const { runs } = JSON.parse(readFileSync(results, 'utf8')) as { runs: ScaleFigures[] }
  for (const path of writeScaleCharts(runs)) console.log(`wrote ${path}`)
}
