// The soak's summary: one row per node and a totals row, then every failure.
import type { NodeReport, SoakResult } from './index.ts'

const show = (x: number | null) => (x == null ? '-' : String(x))

function row(r: NodeReport): Record<string, string | number> {
  return {
    node: `${r.name}${r.longLived ? '' : ' (k)'}`,
    kills: r.kills,
    'tasks sent': r.tasks.sent,
    completed: r.tasks.completed,
    lost: r.tasks.lost,
    dups: r.tasks.duplicates,
    polled: r.tasks.polled,
    'repeated after kill': r.tasks.repeatedAfterKill,
    'recovered (answer/delegate)': `${r.tasks.recovered}/${r.tasks.recoveredDelegations}`,
    'cut before stored': r.tasks.uncommitted,
    'bcast sent': r.broadcastsSent,
    'bcast held': r.broadcastsHeld,
    'file writes': r.filesWritten,
    'file keys': r.fileKeys,
    'RSS start MiB': show(r.rssStart),
    'RSS end MiB': show(r.rssEnd),
    'RSS max MiB': show(r.rssMax),
  }
}

export function formatTable(rows: Array<Record<string, string | number>>): string {
  const headers = Object.keys(rows[0] ?? {})
  const widths = headers.map((h) => Math.max(h.length, ...rows.map((r) => String(r[h]).length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  return [line(headers), ...rows.map((r) => line(headers.map((h) => String(r[h]))))].join('\n')
}

export function formatSoak(result: SoakResult): string {
  const t = result.totals
  const sum = (f: (r: NodeReport) => number) => result.nodes.reduce((s, r) => s + f(r), 0)
  const totals: Record<string, string | number> = {
    node: 'total',
    kills: t.kills,
    'tasks sent': t.tasksSent,
    completed: t.tasksCompleted,
    lost: t.tasksLost,
    dups: t.duplicates,
    polled: sum((r) => r.tasks.polled),
    'repeated after kill': sum((r) => r.tasks.repeatedAfterKill),
    'recovered (answer/delegate)': `${sum((r) => r.tasks.recovered)}/${sum((r) => r.tasks.recoveredDelegations)}`,
    'cut before stored': sum((r) => r.tasks.uncommitted),
    'bcast sent': sum((r) => r.broadcastsSent),
    'bcast held': `${t.broadcasts} each`,
    'file writes': sum((r) => r.filesWritten),
    'file keys': t.fileKeys,
    'RSS start MiB': '',
    'RSS end MiB': '',
    'RSS max MiB': '',
  }
  const o = result.options
  const lines = [
    `soak: ${result.nodes.length} nodes, load ${Math.round(result.loadMs / 1000)} s, a kill every ` +
      `${o.killEveryMs / 1000} s, settled in ${(result.settleMs / 1000).toFixed(1)} s; ` +
      `RSS bound for long-lived nodes: +${o.rssGrowthPct}% and +${o.rssGrowthMiB} MiB ((k): killed in turn)`,
    '',
    formatTable([...result.nodes.map(row), totals]),
    '',
  ]
  if (result.ok)
    lines.push('OK: no task lost or duplicated, broadcasts and file maps converged, RSS within bound')
  else {
    lines.push(`FAILED (${result.failures.length}):`)
    for (const f of result.failures) lines.push(`  ${f}`)
  }
  if (result.dir != null) lines.push(`data kept in ${result.dir}`)
  return lines.join('\n')
}
