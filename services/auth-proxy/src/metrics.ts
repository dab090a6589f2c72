// Prometheus metrics, served on the management port's /metrics. One registry per app (not prom-client's
// global one), so tests and several apps in one process never mix their numbers.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { RequestMetrics } from './request-metrics.ts'

import type { TunnelEnd } from './proxy/tunnel.ts'
import type { ReloadCounts } from './auth/verifier.ts'

export type UpstreamErrorKind = 'timeout' | 'unavailable' | 'starting' | 'bad_gateway' | 'aborted'

/** Reads of state owned elsewhere (credential backends, WebSockets), sampled at scrape time. */
export interface MetricSources {
  credentialReloads (): ReloadCounts
  verifyCache (): { readonly hits: number, readonly misses: number }
  /** Credential backends that can answer now (an LDAP directory may be down), by name. */
  backendsReady (): Record<string, boolean>
  /** REDIS_URL: whether it answers, and how often a replica had to decide alone; undefined without it. */
  shared? (): { readonly up: boolean, readonly fallbacks: number, readonly errors: number } | undefined
  websockets (): number
}

/** A counter whose values are kept elsewhere and read at scrape time, one series per `result` label. */
function sampledCounter (registry: Registry, name: string, help: string, read: () => Record<string, number>): void {
  const counter: Counter<'result'> = new Counter({
    name,
    help,
    labelNames: ['result'],
    registers: [registry],
    collect: () => {
      counter.reset()
      for (const [result, value] of Object.entries(read())) counter.inc({ result }, value)
    }
  })
}

export class ProxyMetrics {
  readonly registry = new Registry()
  readonly #requests = new RequestMetrics()
  readonly #upstreamErrors: Counter<'kind'>
  readonly #authFailures: Counter<'reason'>
  readonly #authzDenied: Counter
  readonly #inFlight: Gauge
  readonly #tunnels: Counter<'closed_by'>
  readonly #clientErrors: Counter<'status'>
  /** Requests being handled now; read by graceful shutdown to know when the last one has finished. */
  inFlight = 0

  constructor (sources: MetricSources) {
    const registers = [this.registry]
    this.#requests.register(this.registry)
    this.#upstreamErrors = new Counter({ name: 'auth_proxy_upstream_errors_total', help: 'Failures talking to the app, by kind.', labelNames: ['kind'], registers })
    this.#authFailures = new Counter({ name: 'auth_proxy_auth_failures_total', help: 'Refused logins, by reason.', labelNames: ['reason'], registers })
    this.#authzDenied = new Counter({ name: 'auth_proxy_authz_denied_total', help: 'Requests of signed-in users that the authorization rules refused (403).', registers })
    this.#inFlight = new Gauge({
      name: 'auth_proxy_requests_in_flight',
      help: 'Requests being handled on the public port.',
      registers,
      collect: () => { this.#inFlight.set(this.inFlight) }
    })
    sampledCounter(this.registry, 'auth_proxy_credential_reloads_total',
      'Reloads of changed credential files, by result (a failed one keeps the previous credentials).',
      () => ({ ...sources.credentialReloads() }))
    sampledCounter(this.registry, 'auth_proxy_verify_cache_lookups_total',
      'Credential checks answered from the verify cache (hit) or by the backend (miss).',
      () => { const c = sources.verifyCache(); return { hit: c.hits, miss: c.misses } })
    const up = new Gauge({
      name: 'auth_proxy_backend_up',
      help: 'Whether each credential backend can answer now (0: e.g. the LDAP directory is unreachable).',
      labelNames: ['backend'],
      registers,
      collect: () => {
        up.reset()
        for (const [backend, ready] of Object.entries(sources.backendsReady())) up.set({ backend }, ready ? 1 : 0)
      }
    })
    const sharedUp = new Gauge({
      name: 'auth_proxy_shared_store_up',
      help: 'Whether the Redis shared by the replicas answers (1), or each replica decides alone (0). Absent without REDIS_URL.',
      registers,
      collect: () => { sharedUp.reset(); const s = sources.shared?.(); if (s !== undefined) sharedUp.set(s.up ? 1 : 0) }
    })
    sampledCounter(this.registry, 'auth_proxy_shared_store_fallbacks_total',
      'Throttle decisions a replica took alone because Redis did not answer in time.',
      () => { const s = sources.shared?.(); return s === undefined ? {} : { fallback: s.fallbacks } })
    const ws = new Gauge({ name: 'auth_proxy_websockets_open', help: 'WebSocket tunnels open now.', registers, collect: () => { ws.set(sources.websockets()) } })
    this.#tunnels = new Counter({ name: 'auth_proxy_websockets_total', help: 'WebSocket tunnels that ended, by who ended them (client, app, idle, shutdown, error).', labelNames: ['closed_by'], registers })
    this.#clientErrors = new Counter({ name: 'auth_proxy_client_errors_total', help: 'Requests Node.js could not parse or that took too long to arrive, by the status answered.', labelNames: ['status'], registers })
    collectDefaultMetrics({ register: this.registry, prefix: 'auth_proxy_' })
  }

  requestCompleted (method: string, status: number, seconds: number): void {
    this.#requests.observe(method, status, seconds)
  }

  upstreamError (kind: UpstreamErrorKind): void { this.#upstreamErrors.inc({ kind }) }
  authFailure (reason: string): void { this.#authFailures.inc({ reason }) }
  authzDenied (): void { this.#authzDenied.inc() }
  tunnelEnded (closedBy: TunnelEnd): void { this.#tunnels.inc({ closed_by: closedBy }) }
  clientError (status: number): void { this.#clientErrors.inc({ status: String(status) }) }
}
