// Builds the public app: path checks, authentication in front of everything (but PUBLIC_PATHS), then forwarding
// to the upstream. Never listens: server.ts does that; tests listen on port 0.
import { randomUUID } from 'node:crypto'
import type { Server as HttpsServer } from 'node:https'
import proxyAddr from '@fastify/proxy-addr'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'

import type { DestinationStream } from 'pino'
import type { AuthMethods } from './auth/methods.ts'
import authPlugin from './auth/plugin.ts'
import { FailureThrottle } from './auth/throttle.ts'
import type { Config } from './config.ts'
import { handleError, installErrorHandling } from './error-handler.ts'
import { MethodNotAllowedError } from './errors.ts'
import { loggerOptions } from './log.ts'
import { ProxyMetrics } from './metrics.ts'
import { clientErrorHandler, serverOptions } from './proxy/client-limits.ts'
import proxy from './proxy/proxy.ts'
import { rejectUnsafeRequest } from './proxy/request-guard.ts'
import { Tunnels } from './proxy/tunnel.ts'
import { closesConnection, isUpgraded, supportsUpgradeControl } from './proxy/upgrade.ts'
import type { UpstreamState } from './proxy/upstream.ts'
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
  }
  interface FastifyRequest {
    /**
     * The client's address — behind a TRUST_PROXY router, the one it reports — captured when the request
     * arrives: by the time the response finishes the socket may already be gone (request.socket is null).
     */
    clientAddress: string
    /** The address of the connection's other end (the router, when there is one). */
    peerAddress: string
    /** True when the connection comes from a TRUST_PROXY address, whose X-Forwarded-* are kept and extended. */
    fromTrustedProxy: boolean
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

export function buildApp (config: Config, options: BuildOptions = {}): FastifyInstance {
  if (!supportsUpgradeControl()) {
    throw new Error(`Node.js ${process.version} is too old: the proxy needs Node.js 22.21+ or 24.9+ to decide which upgrades are WebSockets (run ". scripts/node24.sh" for Node 24)`)
  }
  const trusted = config.trustProxy.length > 0 ? proxyAddr.compile([...config.trustProxy]) : () => false
  const tunnels = new Tunnels()
  const state: UpstreamState = { seen: false }
  let credentials: AuthMethods | undefined
  const metrics = new ProxyMetrics({
    credentialReloads: () => credentials?.reloadCounts() ?? { success: 0, failure: 0 },
    verifyCache: () => ({ hits: credentials?.hits ?? 0, misses: credentials?.misses ?? 0 }),
    backendsReady: () => credentials?.readiness() ?? {},
    websockets: () => tunnels.size
  })
  const requestLog = new RequestLogController(metrics)
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
  const app = tls === undefined
    ? Fastify({ ...fastifyOptions, http: limits })
    // Fastify's types split http and https instances; the app uses only what both have, so one type serves.
    : Fastify({ ...fastifyOptions, https: { ...limits, ...readTlsFiles(tls) } } as FastifyServerOptions) as unknown as FastifyInstance
  if (tls !== undefined) {
    const stop = watchTlsFiles(app.server as unknown as HttpsServer, tls, app.log)
    app.addHook('onClose', (_instance, done) => { stop(); done() })
  }

  installErrorHandling(app)
  app.decorate('metrics', metrics)
  app.decorate('upstreamState', state)
  app.decorate('tunnels', tunnels)
  app.decorate('draining', false)
  app.decorateRequest('clientAddress', '')
  app.decorateRequest('peerAddress', '')
  app.decorateRequest('fromTrustedProxy', false)
  app.addHook('onRequest', (request, reply, done) => {
    request.peerAddress = request.socket.remoteAddress ?? ''
    request.clientAddress = request.ip
    request.fromTrustedProxy = trusted(request.peerAddress, 0)
    if (!isUpgraded(request.raw)) {
      // WebSocket handshakes are counted apart, as tunnels: their response stays open as long as the tunnel.
      metrics.inFlight++
      reply.raw.once('close', () => { metrics.inFlight-- })
    }
    // Before authentication, as nginx does: a malformed request is refused whoever sends it, and its connection
    // is not trusted with another.
    const refused = rejectUnsafeRequest(request)
    if (refused !== undefined) void reply.header('connection', 'close')
    done(refused)
  })

  app.addHook('onSend', (request, reply, payload, done) => {
    // Shutting down: every answer, including those of requests already under way, ends its connection; so does
    // the answer to a declined upgrade (upgrade.ts).
    if (app.draining || closesConnection(request.raw)) void reply.header('connection', 'close')
    done(null, payload)
  })

  const throttle = new FailureThrottle(config.auth.throttle)
  app.decorate('throttle', throttle)
  app.register(authPlugin, { config, throttle, loaded: (methods) => { credentials = methods } })

  app.register(proxy, {
    upstream: config.upstream,
    client: config.client,
    forwarding: { userHeader: config.auth.userHeader, groupsHeader: config.auth.groupsHeader, emailHeader: config.auth.emailHeader,
      forwardAuthorization: config.auth.forwardAuthorization,
      ...(config.auth.session !== undefined && { sessionCookie: config.auth.session.cookieName })
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
