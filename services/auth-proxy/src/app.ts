// Builds the public app: the request hooks (peer, guard), authentication in front of everything but PUBLIC_PATHS,
// then forwarding to the app. Never listens: serve.ts does that; tests listen on port 0.
import { randomUUID } from 'node:crypto'
import type { Server as HttpsServer } from 'node:https'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify'
import type { DestinationStream } from 'pino'
import type { Gate } from './auth/gate.ts'
import type { AuthMethods } from './auth/methods.ts'
import authPlugin, { type Shared } from './auth/plugin.ts'
import { FailureThrottle } from './auth/throttle.ts'
import type { RulesFile } from './authz/rules-file.ts'
import type { Config } from './config.ts'
import { handleError, installErrorHandling } from './error-handler.ts'
import { MethodNotAllowedError } from './errors.ts'
import { loggerOptions } from './log.ts'
import { ProxyMetrics } from './metrics.ts'
import { clientErrorHandler, serverOptions } from './proxy/client-limits.ts'
import proxy from './proxy/proxy.ts'
import { Tunnels } from './proxy/tunnel.ts'
import { supportsUpgradeControl } from './proxy/upgrade.ts'
import type { UpstreamState } from './proxy/upstream.ts'
import { installRequestHooks } from './request-hooks.ts'
import { RequestLogController } from './request-log.ts'
import { lazySchemaCompilers } from './schema-compilers.ts'
import { readTlsFiles, watchTlsFiles } from './tls.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The credential methods in force (auth/methods.ts); set once they have loaded. */
    credentials: AuthMethods
    throttle: FailureThrottle
    metrics: ProxyMetrics
    upstreamState: UpstreamState
    /** Open WebSocket tunnels. */
    tunnels: Tunnels
    /** Set by graceful shutdown: answers then carry `Connection: close`. */
    draining: boolean
    /** The gate every request and forward-auth check goes through (auth/gate.ts). */
    gate: Gate
    /** AUTHZ_RULES_FILE, when configured: its status for /readyz. */
    rules: RulesFile | undefined
    /** REDIS_URL's connection and what uses it; undefined without it. */
    sharedStore: Shared | undefined
    /** Sends a browser to the OpenID Connect login and back to `returnTo`; undefined without OpenID Connect. */
    startLoginTo: ((request: FastifyRequest, reply: FastifyReply, returnTo: string) => Promise<unknown>) | undefined
  }
}

// Request ids: a random per-process prefix and a counter — unique per process, cheap on the hot path.
const ID_PREFIX = randomUUID().slice(0, 4)
let idCounter = 0
function nextRequestId (): string {
  idCounter = (idCounter + 1) % 0x1000000
  return `${ID_PREFIX}${idCounter.toString(16).padStart(6, '0')}`
}

export interface BuildOptions {
  /** Where log lines go (tests capture them); stdout by default. */
  readonly logStream?: DestinationStream
}

/** The Fastify instance on an http or https server with the client limits, the request log and our errors. */
function createServer (config: Config, options: BuildOptions, requestLog: RequestLogController, metrics: ProxyMetrics): FastifyInstance {
  const fastifyOptions: FastifyServerOptions = {
    logger: { ...loggerOptions(config.logLevel), ...(options.logStream !== undefined && { stream: options.logStream }) },
    logController: requestLog, // one line per request instead of two
    // CONNECT's authority-form target is no URL to Fastify's router: it is refused as the method it is.
    frameworkErrors: (err, request, reply) => { handleError(request.method === 'CONNECT' ? new MethodNotAllowedError() : err, request, reply) },
    requestIdHeader: false, // a client must not choose the id we log under
    schemaController: { compilersFactory: lazySchemaCompilers },
    genReqId: nextRequestId,
    // request.ip / protocol / host follow X-Forwarded-* only from these addresses.
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
    // Fastify sets the server's requestTimeout itself, from this.
    requestTimeout: config.client.requestTimeoutMs,
    clientErrorHandler: clientErrorHandler((status) => { metrics.clientError(status) })
  }
  const limits = serverOptions(config.client)
  const tls = config.tls
  if (tls === undefined) return Fastify({ ...fastifyOptions, http: limits })
  // Fastify's types split http and https instances; the app uses only what both have, so one type serves.
  const app = Fastify({ ...fastifyOptions, https: { ...limits, ...readTlsFiles(tls) } } as FastifyServerOptions) as unknown as FastifyInstance
  const stop = watchTlsFiles(app.server as unknown as HttpsServer, tls, app.log)
  app.addHook('onClose', (_instance, done) => { stop(); done() })
  return app
}

export function buildApp (config: Config, options: BuildOptions = {}): FastifyInstance {
  if (!supportsUpgradeControl()) {
    throw new Error(`Node.js ${process.version} is too old: the proxy needs Node.js 22.21+ or 24.9+ to decide which upgrades are WebSockets (run ". scripts/node24.sh" for Node 24)`)
  }
  const tunnels = new Tunnels()
  const state: UpstreamState = { seen: false }
  let credentials: AuthMethods | undefined
  const metrics = new ProxyMetrics({
    credentialReloads: () => credentials?.reloadCounts() ?? { success: 0, failure: 0 },
    verifyCache: () => ({ hits: credentials?.hits ?? 0, misses: credentials?.misses ?? 0 }),
    backendsReady: () => credentials?.readiness() ?? {},
    websockets: () => tunnels.size,
    shared: () => {
      const shared = app.sharedStore
      return shared === undefined ? undefined : { up: shared.store.up, fallbacks: shared.throttle.fallbacks, errors: shared.store.errors }
    }
  })
  const requestLog = new RequestLogController(metrics)
  const app = createServer(config, options, requestLog, metrics)
  installErrorHandling(app, config.mode === 'sidecar')
  // Bodies are never parsed: every content type is left unread, for the forwarder to stream or for the proxy's
  // own few endpoints (a logout form, a logout token) to read with their own small limits.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => { done(null) })
  app.decorate('metrics', metrics)
  app.decorate('upstreamState', state)
  app.decorate('tunnels', tunnels)
  app.decorate('draining', false)
  installRequestHooks(app, config.trustProxy, metrics, (request, reply) => { requestLog.clientClosed(request, reply) })

  const throttle = new FailureThrottle(config.auth.throttle)
  app.decorate('throttle', throttle)
  app.register(authPlugin, { config, throttle, loaded: (methods) => { credentials = methods } })

  if (config.mode === 'forward-auth') return app // no app behind: forward-auth/routes.ts answers the ingress
  const { auth } = config
  app.register(proxy, {
    upstream: config.upstream,
    client: config.client,
    forwarding: {
      userHeader: auth.userHeader, groupsHeader: auth.groupsHeader, emailHeader: auth.emailHeader, forwardAuthorization: auth.forwardAuthorization,
      ...(auth.session !== undefined && { sessionCookie: auth.session.cookieName })
    },
    state,
    metrics,
    tunnels,
    streamError: (error, request, reply) => { requestLog.streamError(error, request, reply) },
    clientClosed: (request, reply) => { requestLog.clientClosed(request, reply) },
    tunnelOpened: (request, reply) => { requestLog.tunnelOpened(request, reply) },
    tunnelEnded: (request, reply, summary) => { requestLog.tunnelEnded(request, reply, summary) }
  })
  return app
}
