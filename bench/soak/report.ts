// docs/soak.md and its plot: what was sent and answered, which failures the faults explain and which nothing
// does, and the proxy's memory, file descriptors and event-loop delay over the run.
import { explain, type FaultWindow } from './faults.ts'
import type { Outcome } from './traffic.ts'

export interface Sample {
  readonly at: number
  readonly replica: string
  readonly rssMb: number
  readonly heapMb: number
  readonly fds: number
  readonly eventLoopP99Ms: number
}

/** Least-squares slope of y over x (per unit of x). */
export function slope (points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length
  if (n < 2) return Number.NaN
  const mx = points.reduce((s, [x]) => s + x, 0) / n
  const my = points.reduce((s, [, y]) => s + y, 0) / n
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0)
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0)
  return den === 0 ? Number.NaN : num / den
}

function percentile (values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN
}

const fmt = (n: number, d = 1): string => Number.isFinite(n) ? n.toFixed(d) : 'n/a'

export interface Summary {
  readonly sent: number
  readonly failed: number
  readonly explained: number
  readonly unexplained: Outcome[]
  /** MB/hour of the replica that ran throughout, after warm-up, and over the run's second half. */
  readonly rssSlope: number
  readonly rssSlopeLate: number
  readonly heapSlope: number
  readonly fdRange: readonly [number, number]
  /** Descriptors per hour (a leak grows it; connections coming and going only spread it). */
  readonly fdSlope: number
  readonly eventLoopP99MaxMs: number
}

export function summarise (outcomes: readonly Outcome[], windows: readonly FaultWindow[], samples: readonly Sample[], warmupMs: number): Summary {
  const failed = outcomes.filter((o) => !o.ok)
  const unexplained = failed.filter((o) => explain(o, windows) === undefined)
  const steady = samples.filter((s) => s.replica === 'A' && s.at >= warmupMs)
  const end = steady.reduce((a, s) => Math.max(a, s.at), 0)
  const late = steady.filter((s) => s.at >= end / 2)
  const hours = (at: number): number => at / 3_600_000
  const fds = steady.map((s) => s.fds)
  return {
    sent: outcomes.length,
    failed: failed.length,
    explained: failed.length - unexplained.length,
    unexplained,
    rssSlope: slope(steady.map((s) => [hours(s.at), s.rssMb])),
    rssSlopeLate: slope(late.map((s) => [hours(s.at), s.rssMb])),
    fdSlope: slope(steady.map((s) => [hours(s.at), s.fds])),
    heapSlope: slope(steady.map((s) => [hours(s.at), s.heapMb])),
    fdRange: [fds.reduce((a, b) => Math.min(a, b), Infinity), fds.reduce((a, b) => Math.max(a, b), 0)],
    eventLoopP99MaxMs: samples.filter((s) => s.at >= warmupMs).reduce((a, s) => Math.max(a, s.eventLoopP99Ms), 0)
  }
}

export function markdown (outcomes: readonly Outcome[], windows: readonly FaultWindow[], samples: readonly Sample[], summary: Summary, meta: string): string {
  const kinds = [...new Set(outcomes.map((o) => o.kind))].sort()
  const lines = ['# Soak run', '', meta, '', '![memory and latency over the run](soak.svg)', '',
    '## Targets', '', '| What | Goal | Measured | Met |', '| --- | --- | --- | --- |',
    `| Failures no fault explains | 0 | ${summary.unexplained.length} of ${summary.sent} requests | ${summary.unexplained.length === 0 ? 'yes' : 'no'} |`,
    `| RSS slope after warm-up (replica A) | ≤ 1 MB/hour | ${fmt(summary.rssSlope, 2)} MB/hour; second half ${fmt(summary.rssSlopeLate, 2)} (heap ${fmt(summary.heapSlope, 2)}) | ${summary.rssSlope <= 1 ? 'yes' : 'no'} |`,
    `| Open file descriptors (replica A) | flat | ${summary.fdRange[0]}–${summary.fdRange[1]} (in-flight connections), trend ${fmt(summary.fdSlope, 1)}/hour | ${Math.abs(summary.fdSlope) <= 5 ? 'yes' : 'no'} |`,
    `| Event-loop delay p99, worst 10 s | < 50 ms | ${fmt(summary.eventLoopP99MaxMs)} ms | ${summary.eventLoopP99MaxMs < 50 ? 'yes' : 'no'} |`,
    '', '## Requests', '', '| Traffic | Sent | Answered as intended | Failed | Explained by a fault | Results of the failures |', '| --- | ---: | ---: | ---: | ---: | --- |']
  for (const kind of kinds) {
    const mine = outcomes.filter((o) => o.kind === kind)
    const failed = mine.filter((o) => !o.ok)
    const explained = failed.filter((o) => explain(o, windows) !== undefined)
    const results = [...new Set(failed.map((o) => o.result))].map((r) => `${r} ×${failed.filter((o) => o.result === r).length}`).join(', ')
    lines.push(`| ${kind} | ${mine.length} | ${mine.length - failed.length} | ${failed.length} | ${explained.length} | ${results} |`)
  }
  lines.push('', '## Faults', '', '| Fault | Times | Failures it explains |', '| --- | ---: | ---: |')
  for (const fault of [...new Set(windows.map((w) => w.fault))]) {
    const count = outcomes.filter((o) => !o.ok && explain(o, windows) === fault).length
    lines.push(`| ${fault} | ${windows.filter((w) => w.fault === fault).length} | ${count} |`)
  }
  if (summary.unexplained.length > 0) {
    lines.push('', '## Unexplained failures', '', '| At (s) | Traffic | Result | ms | Last fault before it |', '| ---: | --- | --- | ---: | --- |')
    for (const o of summary.unexplained.slice(0, 50)) {
      const last = windows.filter((w) => w.from <= o.at).at(-1)
      lines.push(`| ${fmt(o.at / 1000)} | ${o.kind} | ${o.result} | ${o.ms} | ${last === undefined ? '' : `${last.fault} at ${fmt(last.from / 1000)} s`} |`)
    }
  }
  lines.push('', '## Samples (every 10 s)', '', '| At (s) | Replica | RSS MB | Heap MB | FDs | Event-loop p99 ms |', '| ---: | --- | ---: | ---: | ---: | ---: |')
  const every = Math.max(1, Math.floor(samples.length / 60))
  samples.filter((_s, i) => i % every === 0).forEach((s) => lines.push(`| ${fmt(s.at / 1000, 0)} | ${s.replica} | ${fmt(s.rssMb)} | ${fmt(s.heapMb)} | ${s.fds} | ${fmt(s.eventLoopP99Ms)} |`))
  return `${lines.join('\n')}\n`
}

/** Two panels: replica A's RSS and heap, and the p99 latency of Basic requests per 10 s; fault times marked. */
export function svg (outcomes: readonly Outcome[], windows: readonly FaultWindow[], samples: readonly Sample[]): string {
  const W = 760
  const H = 200
  const left = 50
  const a = samples.filter((s) => s.replica === 'A')
  // No spread: a 30-minute run records ~10⁵ outcomes, more arguments than a call may take.
  const end = [...samples.map((s) => s.at), ...outcomes.map((o) => o.at)].reduce((a, b) => Math.max(a, b), 1)
  const x = (at: number): number => left + (at / end) * (W - left - 10)
  const buckets = new Map<number, number[]>()
  for (const o of outcomes) if (o.kind === 'basic' && o.ok) { const b = Math.floor(o.at / 10_000); buckets.set(b, [...(buckets.get(b) ?? []), o.ms]) }
  const p99 = [...buckets].sort(([p], [q]) => p - q).map(([b, ms]) => [b * 10_000 + 5_000, percentile(ms, 0.99)] as const)
  const memMax = Math.max(10, ...a.map((s) => s.rssMb)) * 1.1
  const latMax = Math.max(5, ...p99.map(([, v]) => v)) * 1.1
  const path = (points: ReadonlyArray<readonly [number, number]>, top: number, max: number): string =>
    points.map(([t, v], i) => `${i === 0 ? 'M' : 'L'}${x(t).toFixed(1)},${(top + H - (v / max) * H).toFixed(1)}`).join(' ')
  const marks = windows.map((w) => `<line x1="${x(w.from).toFixed(1)}" x2="${x(w.from).toFixed(1)}" y1="20" y2="${2 * H + 60}" stroke="#ccc"/>`).join('')
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${2 * H + 90}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>${marks}
<text x="${left}" y="14">Replica A: RSS (blue) and heap used (green), MB — 0 to ${memMax.toFixed(0)}; grey lines: faults</text>
<path d="${path(a.map((s) => [s.at, s.rssMb]), 20, memMax)}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>
<path d="${path(a.map((s) => [s.at, s.heapMb]), 20, memMax)}" fill="none" stroke="#2ca02c" stroke-width="1.5"/>
<text x="${left}" y="${H + 54}">p99 latency of Basic requests per 10 s, ms — 0 to ${latMax.toFixed(0)}</text>
<path d="${path(p99, H + 60, latMax)}" fill="none" stroke="#d62728" stroke-width="1.5"/>
<text x="${left}" y="${2 * H + 80}">0 s</text><text x="${W - 60}" y="${2 * H + 80}">${(end / 1000).toFixed(0)} s</text>
</svg>
`
}
