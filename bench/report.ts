// Turns the medians into docs/benchmarks.md (tables, targets) and docs/benchmarks.svg (a bar chart).
import type { WrkResult } from './wrk.ts'

export interface SystemDef { readonly id: string, readonly label: string, readonly baseline?: string }
export interface Extras {
  readonly rssAfterLoadMb: number
  /** Of that RSS: the node binary and libraries mapped from disk (shared, reclaimable) vs private memory. */
  readonly fileBackedMb: number
  readonly privateMb: number
  readonly startToReadyMs: number, readonly uploadGrowthMb: number, readonly uploadSeconds: number }
export interface Target { readonly what: string, readonly goal: string, readonly measured: string, readonly met: boolean }

export function median (values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

const fmt = (n: number, digits = 0): string => Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a'

export function markdown (systems: SystemDef[], connections: number[], results: Map<string, WrkResult>, extras: Extras, targets: Target[], meta: string, sections: string[][] = []): string {
  const lines: string[] = ['# Benchmarks', '', meta, '', '![req/s at 32 connections](benchmarks.svg)', '']
  for (const c of connections) {
    lines.push(`## ${c} connections`, '', '| System | req/s | p50 ms | p99 ms | vs nginx |', '| --- | ---: | ---: | ---: | ---: |')
    for (const s of systems) {
      const r = results.get(`${s.id}@${c}`)
      if (r === undefined) continue
      const base = s.baseline !== undefined ? results.get(`${s.baseline}@${c}`) : undefined
      const ratio = base !== undefined && base.rps > 0 ? `${fmt(r.rps / base.rps, 2)}×` : ''
      lines.push(`| ${s.label} | ${fmt(r.rps)} | ${fmt(r.p50Ms, 2)} | ${fmt(r.p99Ms, 2)} | ${ratio} |`)
    }
    lines.push('')
  }
  lines.push('## auth-proxy resources', '', '| Measure | Value |', '| --- | ---: |',
    `| RSS after the sustained load above | ${fmt(extras.rssAfterLoadMb, 1)} MB |`,
    `| … of which mapped from files (node binary, libraries; shared, reclaimable) | ${fmt(extras.fileBackedMb, 1)} MB |`,
    `| … of which private (heap, buffers) | ${fmt(extras.privateMb, 1)} MB |`,
    `| Process start until /readyz is 200 (median of 5) | ${fmt(extras.startToReadyMs)} ms |`,
    `| RSS growth during a 1 GiB streamed upload (${fmt(extras.uploadSeconds, 1)} s) | ${fmt(extras.uploadGrowthMb, 1)} MB |`, '')
  for (const section of sections) lines.push(...section)
  lines.push('## Targets', '', '| Target | Goal | Measured | Met |', '| --- | --- | --- | --- |')
  for (const t of targets) lines.push(`| ${t.what} | ${t.goal} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`)
  lines.push('')
  return lines.join('\n')
}

export function svg (systems: SystemDef[], connections: number, results: Map<string, WrkResult>): string {
  const rows = systems.map((s) => ({ label: s.label, rps: results.get(`${s.id}@${connections}`)?.rps ?? 0 }))
  const max = Math.max(1, ...rows.map((r) => r.rps))
  const barH = 22
  const left = 330
  const width = 860
  const height = 50 + rows.length * (barH + 8)
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')
  const bars = rows.map((r, i) => {
    const y = 40 + i * (barH + 8)
    const w = Math.max(1, ((width - left - 90) * r.rps) / max)
    const color = r.label.startsWith('auth-proxy') ? '#2f6fb0' : r.label.startsWith('upstream') ? '#999999' : '#c8743a'
    return `<text x="${left - 8}" y="${y + 16}" text-anchor="end" font-size="13">${esc(r.label)}</text>` +
      `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${color}"/>` +
      `<text x="${(left + w + 6).toFixed(1)}" y="${y + 16}" font-size="12">${fmt(r.rps)}</text>`
  }).join('\n')
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<text x="10" y="22" font-size="15" font-weight="bold">Requests per second at ${connections} connections (median of rounds; higher is better)</text>
${bars}
</svg>
`
}
