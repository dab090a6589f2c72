// The per-request metrics are kept in plain numbers for speed; what /metrics shows must be exactly what
// prom-client's own Counter and Histogram would show for the same requests.
import { Counter, Histogram, Registry } from 'prom-client'
import t from 'tap'
import { DURATION_BUCKETS, DURATION_NAME, REQUESTS_NAME, RequestMetrics } from '../../services/auth-proxy/src/request-metrics.ts'

const REQUESTS: Array<[string, number, number]> = [
  ['GET', 200, 0.0004], ['GET', 200, 0.001], ['GET', 304, 0.0011], ['GET', 401, 0.02], ['POST', 201, 0.3],
  ['POST', 502, 31], ['HEAD', 200, 0.0025], ['GET', 503, 2.5], ['DELETE', 204, 0], ['GET', 200, 9.99]
]

async function reference (): Promise<string> {
  const registry = new Registry()
  const requests = new Counter({ name: REQUESTS_NAME, help: 'Requests answered on the public port, by method and status class.', labelNames: ['method', 'status_class'], registers: [registry] })
  const duration = new Histogram({ name: DURATION_NAME, help: 'Time from request to end of response on the public port.', labelNames: ['method'], buckets: [...DURATION_BUCKETS], registers: [registry] })
  for (const [method, status, seconds] of REQUESTS) {
    requests.inc({ method, status_class: `${Math.floor(status / 100)}xx` })
    duration.observe({ method }, seconds)
  }
  return await registry.metrics()
}

t.test('the exposition equals prom-client\'s Counter and Histogram for the same requests', async (t) => {
  const registry = new Registry()
  const metrics = new RequestMetrics()
  metrics.register(registry)
  for (const [method, status, seconds] of REQUESTS) metrics.observe(method, status, seconds)
  const ours = await registry.metrics()
  t.equal(ours, await reference())
  t.match(ours, /auth_proxy_request_duration_seconds_bucket\{le="0.001",method="GET"\} 2\n/, 'le is inclusive (0.001 counts in the 0.001 bucket)')
  t.match(ours, /auth_proxy_request_duration_seconds_bucket\{le="30",method="POST"\} 1\n/, 'beyond the last bound only in +Inf')
  t.same((await registry.getMetricsAsJSON()).map((m) => m.name), [REQUESTS_NAME, DURATION_NAME], 'JSON too')
})

t.test('resetMetrics() empties them like prom-client\'s', async (t) => {
  const registry = new Registry()
  const metrics = new RequestMetrics()
  metrics.register(registry)
  metrics.observe('GET', 200, 0.01)
  registry.resetMetrics()
  t.notMatch(await registry.metrics(), /method="GET"/)
})
