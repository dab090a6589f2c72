// /metrics on the management port: Prometheus text with the numbers an operator alerts on.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { buildManagementApp } from '../../services/auth-proxy/src/management.ts'
import { basic, send } from '../helpers/http.ts'
import { htpasswdLine, tempDir } from '../helpers/htpasswd.ts'
import { startProxy } from '../helpers/proxy.ts'
import { freePort, startUpstream } from '../helpers/upstream.ts'

function value (text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1))
}

t.test('requests, latency, auth failures, upstream errors, in-flight, cache and reloads', async (t) => {
  const dir = tempDir()
  const upstream = await startUpstream()
  const proxy = await startProxy({ UPSTREAM_URL: upstream.url, HTPASSWD_FILE: dir.file('h', htpasswdLine('alice', 'pw', '-B', 4)) })
  const management = buildManagementApp({
    credentialsReady: () => true, upstreamUrl: upstream.url, accepting: () => true, metrics: proxy.app.metrics.registry
  }, 'silent')
  t.teardown(async () => { await management.close(); await proxy.close(); await upstream.close(); dir.remove() })

  for (let i = 0; i < 3; i++) await send(`${proxy.url}/`, { headers: { authorization: basic('alice', 'pw') } })
  await send(`${proxy.url}/`)
  await send(`${proxy.url}/`, { headers: { authorization: basic('alice', 'no') } })
  await send(`${proxy.url}/`, { method: 'POST', headers: { authorization: basic('alice', 'pw') }, body: 'x' })
  await upstream.close()
  await send(`${proxy.url}/`, { headers: { authorization: basic('alice', 'pw') } })

  const res = await management.inject('/metrics')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const m = res.body
  t.equal(value(m, 'auth_proxy_requests_total{method="GET",status_class="2xx"}'), 3)
  t.equal(value(m, 'auth_proxy_requests_total{method="GET",status_class="4xx"}'), 2)
  t.equal(value(m, 'auth_proxy_requests_total{method="POST",status_class="2xx"}'), 1)
  t.equal(value(m, 'auth_proxy_requests_total{method="GET",status_class="5xx"}'), 1)
  t.equal(value(m, 'auth_proxy_request_duration_seconds_count{method="GET"}'), 6)
  t.equal(value(m, 'auth_proxy_auth_failures_total{reason="missing"}'), 1)
  t.equal(value(m, 'auth_proxy_auth_failures_total{reason="invalid"}'), 1)
  t.equal(value(m, 'auth_proxy_upstream_errors_total{kind="unavailable"}'), 1)
  t.equal(value(m, 'auth_proxy_requests_in_flight'), 0)
  t.equal(value(m, 'auth_proxy_verify_cache_lookups_total{result="miss"}'), 2, 'one success computed, one failure')
  t.equal(value(m, 'auth_proxy_verify_cache_lookups_total{result="hit"}'), 4, 'the other four successful requests')
  t.equal(value(m, 'auth_proxy_credential_reloads_total{result="success"}'), 0)
  t.equal(value(m, 'auth_proxy_websockets_open'), 0)
  t.ok(value(m, 'auth_proxy_process_resident_memory_bytes') > 0, 'process metrics')
})

t.test('without a registry, /metrics does not exist', async (t) => {
  const app = buildManagementApp({ credentialsReady: () => true, upstreamUrl: `http://127.0.0.1:${await freePort()}`, accepting: () => true }, 'silent')
  t.teardown(async () => { await app.close() })
  t.equal((await app.inject('/metrics')).statusCode, 404)
})

t.test('regression: credential reloads are counted when htpasswd is one of several backends', async (t) => {
  const { writeFileSync } = await import('node:fs')
  const dir = tempDir()
  const upstream = await startUpstream()
  const file = dir.file('h', htpasswdLine('alice', 'pw', '-B', 4))
  const proxy = await startProxy({ UPSTREAM_URL: upstream.url, HTPASSWD_FILE: file, HTPASSWD_RELOAD_INTERVAL: '50ms', AUTH_USERNAME: 'bob', AUTH_PASSWORD: 'pw2' })
  const management = buildManagementApp({ credentialsReady: () => true, upstreamUrl: upstream.url, accepting: () => true, metrics: proxy.app.metrics.registry }, 'silent')
  t.teardown(async () => { await management.close(); await proxy.close(); await upstream.close(); dir.remove() })
  writeFileSync(file, `${htpasswdLine('alice', 'pw', '-B', 4)}\n${htpasswdLine('carol', 'pw3', '-B', 4)}\n`)
  await new Promise((resolve) => setTimeout(resolve, 400))
  const m = (await management.inject('/metrics')).body
  t.equal(value(m, 'auth_proxy_credential_reloads_total{result="success"}'), 1)
  t.equal(value(m, 'auth_proxy_credential_reloads_total{result="failure"}'), 0)
})

t.test('every metric the proxy registers is listed in docs/request-handling.md, and every listed one exists', async (t) => {
  const upstream = await startUpstream()
  const proxy = await startProxy({ UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'alice', AUTH_PASSWORD: 'pw' })
  t.teardown(async () => { await proxy.close(); await upstream.close() })
  const doc = readFileSync(new URL('../../docs/request-handling.md', import.meta.url), 'utf8')
  const documented = new Set([...doc.matchAll(/`(auth_proxy_[a-z_]+)(?![a-z_*])/g)].map((m) => m[1]))
  const registered = (await proxy.app.metrics.registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('auth_proxy_') && !/^auth_proxy_(process|nodejs)_/.test(n)) // prom-client's defaults, listed by prefix
  t.ok(registered.length >= 14, `${registered.length} metrics`)
  for (const name of registered) t.ok(documented.has(name), `${name} documented`)
  for (const name of documented) t.ok(registered.includes(name ?? ''), `${name ?? ''} exists`)
})
