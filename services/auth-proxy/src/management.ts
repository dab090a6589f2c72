// The management listener: liveness and readiness for the kubelet, without authentication, on a port
// the Service does not expose. Kept apart from the public port so no app path can shadow it.
import { connect } from 'node:net'
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import { loggerOptions } from './log.ts'
import { lazySchemaCompilers } from './schema-compilers.ts'
import { bareHost } from './util/net.ts'

export const UPSTREAM_PROBE_TIMEOUT_MS = 1_000

export interface ReadinessSources {
  /** True while any credential method can answer (an LDAP outage must not take htpasswd users out with it). */
  credentialsReady (): boolean
  /** Backend details (users, reloads, a refused reload's reason): shown, never secret. */
  credentialsStatus? (): object
  /** URL of the app; it is "answering" when it accepts a TCP connection (as a tcpSocket probe would). None: forward-auth. */
  readonly upstreamUrl?: string
  /** AUTHZ_RULES_FILE's status (a refused new version's reason): shown, never blocking readiness — the old rules hold. */
  rulesStatus? (): object | undefined
  /** REDIS_URL's status: shown, never blocking readiness — each replica decides alone while it is down. */
  sharedStatus? (): object | undefined
  /** False once shutdown began, so endpoints stop routing to this Pod first. */
  accepting (): boolean
  /** Called when the probe finds the app answering (it has started). */
  upstreamAnswered? (): void
  /** Prometheus registry served at /metrics. */
  readonly metrics?: Registry
}

/** Resolves true when something accepts a TCP connection at the URL's host and port within the timeout. */
export async function probeTcp (url: string, timeoutMs = UPSTREAM_PROBE_TIMEOUT_MS): Promise<boolean> {
  const { hostname, port, protocol } = new URL(url)
  return await new Promise((resolve) => {
    const socket = connect({ host: bareHost(hostname), port: Number(port || (protocol === 'https:' ? 443 : 80)) })
    const finish = (ok: boolean): void => { socket.destroy(); resolve(ok) }
    socket.setTimeout(timeoutMs, () => { finish(false) })
    socket.once('connect', () => { finish(true) })
    socket.once('error', () => { finish(false) })
  })
}

export function buildManagementApp (sources: ReadinessSources, logLevel: string): FastifyInstance {
  // Probes hit this every few seconds: no per-request log lines here.
  const app = Fastify({ logger: loggerOptions(logLevel), logController: new LogController({ disableRequestLogging: true }), schemaController: { compilersFactory: lazySchemaCompilers } })

  app.get('/healthz', async (_request, reply) => await reply.type('text/plain; charset=utf-8').send('ok\n'))

  app.get('/readyz', async (_request, reply) => {
    const checks = {
      credentials: sources.credentialsReady(),
      ...(sources.upstreamUrl !== undefined && { upstream: await probeTcp(sources.upstreamUrl) }),
      accepting: sources.accepting()
    }
    if (checks.upstream === true) sources.upstreamAnswered?.()
    const ready = checks.credentials && checks.upstream !== false && checks.accepting
    const credentials = sources.credentialsStatus?.()
    const rules = sources.rulesStatus?.()
    const shared = sources.sharedStatus?.()
    return await reply.code(ready ? 200 : 503).send({
      ready, checks, ...(credentials !== undefined && { credentials }), ...(rules !== undefined && { rules }), ...(shared !== undefined && { shared })
    })
  })

  const registry = sources.metrics
  if (registry !== undefined) {
    app.get('/metrics', async (_request, reply) => await reply.type(registry.contentType).send(await registry.metrics()))
  }

  return app
}
