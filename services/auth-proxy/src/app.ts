// Builds the public app: path checks, Basic auth in front of everything, then forwarding to the upstream.
// Never listens: server.ts does that; tests listen on port 0.
import { randomUUID } from 'node:crypto'
import proxyAddr from '@fastify/proxy-addr'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { DestinationStream } from 'pino'
import { loadBackends } from './auth/backends.ts'
import basicAuth from './auth/basic-auth.ts'
import { FailureThrottle } from './auth/throttle.ts'
import type { CachedBackend } from './auth/verify-cache.ts'
import type { Config } from './config.ts'
import { handleError, installErrorHandling } from './error-handler.ts'
import { loggerOptions } from './log.ts'
import { rejectUnsafePath } from './proxy/path-guard.ts'
import proxy from './proxy/proxy.ts'
import { RequestLogController } from './request-log.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The credential check in force (behind the verify cache); set once the backends have loaded. */
    credentials: CachedBackend
    throttle: FailureThrottle
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

export interface BuildOptions {
  /** Where log lines go (tests capture them); stdout by default. */
  readonly logStream?: DestinationStream
}

export function buildApp (config: Config, options: BuildOptions = {}): FastifyInstance {
  const trusted = config.trustProxy.length > 0 ? proxyAddr.compile([...config.trustProxy]) : () => false
  const app = Fastify({
    logger: { ...loggerOptions(config.logLevel), ...(options.logStream !== undefined && { stream: options.logStream }) },
    logController: new RequestLogController(), // one line per request instead of two
    frameworkErrors: (err, request, reply) => { handleError(err, request, reply) },
    requestIdHeader: false, // a client must not choose the id we log under
    genReqId: () => randomUUID().slice(0, 8),
    // request.ip / protocol / host follow X-Forwarded-* only from these addresses.
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false
  })

  installErrorHandling(app)
  app.decorateRequest('clientAddress', '')
  app.decorateRequest('peerAddress', '')
  app.decorateRequest('fromTrustedProxy', false)
  app.addHook('onRequest', (request, _reply, done) => {
    request.peerAddress = request.socket.remoteAddress ?? ''
    request.clientAddress = request.ip
    request.fromTrustedProxy = trusted(request.peerAddress, 0)
    // Before authentication, as nginx does: a malformed request is refused whoever sends it.
    done(rejectUnsafePath(request.url))
  })

  const throttle = new FailureThrottle(config.auth.throttle)
  app.decorate('throttle', throttle)
  app.register(fp(async (instance) => {
    const backend = await loadBackends(config.auth, instance.log)
    instance.decorate('credentials', backend)
    instance.addHook('onClose', async () => { await backend.close() })
    await instance.register(basicAuth, { backend, realm: config.auth.realm, throttle })
  }, { name: 'auth-proxy-credentials' }))

  app.register(proxy, {
    upstream: config.upstream,
    forwarding: { userHeader: config.auth.userHeader, forwardAuthorization: config.auth.forwardAuthorization }
  })

  return app
}
