// Builds the public app: Basic auth in front of everything, then forwarding to the upstream.
// Never listens: server.ts does that; tests listen on port 0.
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { DestinationStream } from 'pino'
import type { CredentialBackend } from './auth/backend.ts'
import { loadBackends } from './auth/backends.ts'
import basicAuth from './auth/basic-auth.ts'
import type { Config } from './config.ts'
import { handleError, installErrorHandling } from './error-handler.ts'
import { loggerOptions } from './log.ts'
import { rejectUnsafePath } from './proxy/path-guard.ts'
import proxy from './proxy/proxy.ts'
import { RequestLogController } from './request-log.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The credential check in force; set once the backends have loaded. */
    credentials: CredentialBackend
  }
  interface FastifyRequest {
    /**
     * The peer's address, captured when the request arrives: by the time the response finishes the
     * socket may already be gone (request.socket is then null).
     */
    clientAddress: string
  }
}

export interface BuildOptions {
  /** Where log lines go (tests capture them); stdout by default. */
  readonly logStream?: DestinationStream
}

export function buildApp (config: Config, options: BuildOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: { ...loggerOptions(config.logLevel), ...(options.logStream !== undefined && { stream: options.logStream }) },
    logController: new RequestLogController(), // one line per request instead of two
    frameworkErrors: (err, request, reply) => { handleError(err, request, reply) },
    requestIdHeader: false, // a client must not choose the id we log under
    genReqId: () => randomUUID().slice(0, 8),
    trustProxy: false
  })

  installErrorHandling(app)
  app.decorateRequest('clientAddress', '')
  app.addHook('onRequest', (request, _reply, done) => {
    request.clientAddress = request.socket.remoteAddress ?? ''
    // Before authentication, as nginx does: a malformed request is refused whoever sends it.
    done(rejectUnsafePath(request.url))
  })

  app.register(fp(async (instance) => {
    const backend = await loadBackends(config.auth)
    instance.decorate('credentials', backend)
    instance.addHook('onClose', async () => { await backend.close?.() })
    await instance.register(basicAuth, { backend, realm: config.auth.realm })
  }, { name: 'auth-proxy-credentials' }))

  app.register(proxy, {
    upstream: config.upstream,
    forwarding: { userHeader: config.auth.userHeader, forwardAuthorization: config.auth.forwardAuthorization }
  })

  return app
}
