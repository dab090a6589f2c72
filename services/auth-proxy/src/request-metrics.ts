// The two metrics every request updates — auth_proxy_requests_total and auth_proxy_request_duration_seconds —
// kept in plain numbers and handed to prom-client only when /metrics is scraped. prom-client's labelled counter
// and histogram hash a labels object on every update, even through a cached child: ~5 µs of the proxy's
// ~90 µs of CPU per request (docs/performance.md). The exposition is the same as prom-client's own
// (test/auth-proxy/request-metrics.test.ts compares them line by line).
import type { Metric, MetricValue, Registry } from 'prom-client'

export const REQUESTS_NAME = 'auth_proxy_requests_total'
export const DURATION_NAME = 'auth_proxy_request_duration_seconds'
export const DURATION_BUCKETS: readonly number[] = Object.freeze([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30])

/** "1xx" … "5xx", built once rather than per request. */
const STATUS_CLASSES: readonly string[] = Object.freeze(['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'])

/** One series of the request counter: its labels and its count. */
interface CounterSeries { readonly labels: { readonly method: string, readonly status_class: string }, value: number }

/** One method's numbers: requests by status class, and the duration histogram (per-bucket, not cumulative). */
class MethodSeries {
  readonly byStatusClass = new Map<string, CounterSeries>()
  readonly buckets = new Float64Array(DURATION_BUCKETS.length)
  count = 0
  sum = 0
}

/** What prom-client's registry reads from a metric: its name, help, type and current values. */
interface Collected {
  readonly name: string
  readonly help: string
  readonly type: 'counter' | 'histogram'
  readonly aggregator: 'sum'
  readonly values: Array<MetricValue<string> & { metricName?: string }>
}

/** A metric prom-client's registry can serve: it reads `get()` at scrape time (and calls `reset()` on resetMetrics). */
function collector (name: string, help: string, type: Collected['type'], values: () => Collected['values'], reset: () => void): Metric {
  const fields = { name, help, type, aggregator: 'sum' as const }
  const metric = { ...fields, reset, get: async (): Promise<Collected> => await Promise.resolve({ ...fields, values: values() }) }
  // prom-client types registerMetric() with its own classes, but its registry only duck-types what is above.
  return metric as unknown as Metric
}

export class RequestMetrics {
  readonly #byMethod = new Map<string, MethodSeries>()
  /** Every counter series, in the order they first appeared (prom-client's order). */
  readonly #counterSeries: CounterSeries[] = []

  /** The hot path: a map lookup, a bucket scan and a few additions. */
  observe (method: string, status: number, seconds: number): void {
    let series = this.#byMethod.get(method)
    if (series === undefined) {
      series = new MethodSeries()
      this.#byMethod.set(method, series)
    }
    const statusClass = STATUS_CLASSES[Math.floor(status / 100)] ?? `${Math.floor(status / 100)}xx`
    let counter = series.byStatusClass.get(statusClass)
    if (counter === undefined) {
      counter = { labels: { method, status_class: statusClass }, value: 0 }
      series.byStatusClass.set(statusClass, counter)
      this.#counterSeries.push(counter)
    }
    counter.value++
    series.count++
    series.sum += seconds
    for (let i = 0; i < DURATION_BUCKETS.length; i++) {
      if (seconds <= (DURATION_BUCKETS[i] ?? Infinity)) { series.buckets[i] = (series.buckets[i] ?? 0) + 1; break }
    }
  }

  reset (): void {
    this.#byMethod.clear()
    this.#counterSeries.length = 0
  }

  register (registry: Registry): void {
    registry.registerMetric(collector(REQUESTS_NAME, 'Requests answered on the public port, by method and status class.', 'counter', () => {
      return this.#counterSeries.map(({ labels, value }) => ({ labels: { ...labels }, value }))
    }, () => { this.reset() }))
    registry.registerMetric(collector(DURATION_NAME, 'Time from request to end of response on the public port.', 'histogram', () => {
      const values: Collected['values'] = []
      for (const [method, series] of this.#byMethod) {
        let cumulative = 0
        DURATION_BUCKETS.forEach((le, i) => {
          cumulative += series.buckets[i] ?? 0
          values.push({ metricName: `${DURATION_NAME}_bucket`, labels: { le, method }, value: cumulative })
        })
        values.push({ metricName: `${DURATION_NAME}_bucket`, labels: { le: '+Inf', method }, value: series.count })
        values.push({ metricName: `${DURATION_NAME}_sum`, labels: { method }, value: series.sum })
        values.push({ metricName: `${DURATION_NAME}_count`, labels: { method }, value: series.count })
      }
      return values
    }, () => { this.reset() }))
  }
}
