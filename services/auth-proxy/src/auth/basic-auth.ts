// HTTP Basic authentication (RFC 7617) in front of every public route, via @fastify/basic-auth.
// Header parsing (scheme, token68, base64, control characters, the colon) is the plugin's; deciding whether
// the credentials are valid is the backend's; counting failures per client is the throttle's.
import fastifyBasicAuth from '@fastify/basic-auth'
import type { FastifyError, FastifyPluginAsync, onRequestHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { BackendUnavailableError, TooManyFailuresError, UnauthorizedError } from '../errors.ts'
import { AccessDenied, type CredentialBackend, type Identity } from './backend.ts'
import type { PublicPath } from '../config.ts'
import { isPublic } from './public-paths.ts'
import type { FailureThrottle } from './throttle.ts'

/** Why a request was not authenticated, for the log line and metrics. Never includes what was sent. */
export type AuthFailure = 'missing' | 'malformed' | 'invalid' | 'denied' | 'throttled' | 'unavailable'

/** Retry-After on a 503 from a backend that could not decide: about one directory health check away. */
export const BACKEND_RETRY_AFTER_SECONDS = 5

declare module 'fastify' {
  interface FastifyRequest {
    /** Set once the credentials were accepted; null before that. */
    identity: Identity | null
    authFailure: AuthFailure | null
  }
}

export interface BasicAuthPluginOptions {
  readonly backend: CredentialBackend
  readonly realm: string
  readonly throttle: FailureThrottle
  readonly publicPaths: readonly PublicPath[]
}

const basicAuthPlugin: FastifyPluginAsync<BasicAuthPluginOptions> = async (app, opts) => {
  app.decorateRequest('identity', null)
  app.decorateRequest('authFailure', null)
  const { throttle } = opts

  await app.register(fastifyBasicAuth, {
    // RFC 7617 §2.1: announce UTF-8 so browsers encode non-ASCII user names and passwords the same way we decode them.
    utf8: true,
    authenticate: { realm: opts.realm },
    async validate (user, password, request) {
      let identity: Identity | null
      try {
        identity = await opts.backend.verify(user, password)
      } catch (err) {
        if (err instanceof AccessDenied) {
          // Right password, but not allowed in: the same 401 as a wrong password, so it confirms nothing.
          request.authFailure = 'denied'
          return new UnauthorizedError()
        }
        // A backend that cannot decide is "unavailable" (503), never "wrong password" (401).
        throw (err as { statusCode?: number }).statusCode !== undefined ? err : new BackendUnavailableError({ cause: err })
      }
      // One error for unknown user and wrong password alike: the response never says which.
      if (identity === null) return new UnauthorizedError()
      request.identity = identity
      return undefined
    }
  })

  const authenticate: onRequestHookHandler = function (request, reply, done) {
    if (isPublic(request.method, request.url, opts.publicPaths)) { done(); return }
    const client = request.clientAddress
    const wait = throttle.retryAfter(client)
    if (wait > 0) {
      // Checked before any hashing: a blocked client costs us nothing.
      request.authFailure = 'throttled'
      void reply.header('retry-after', String(wait))
      done(new TooManyFailuresError())
      return
    }
    app.basicAuth(request, reply, (error?: Error) => {
      const err = error as FastifyError | undefined
      if (err === undefined) {
        throttle.success(client)
      } else {
        request.authFailure = err.statusCode === 503
          ? 'unavailable'
          : err.code === 'FST_BASIC_AUTH_MISSING_OR_BAD_AUTHORIZATION_HEADER'
            ? (request.headers.authorization === undefined ? 'missing' : 'malformed')
            : request.authFailure ?? 'invalid'
        if (request.authFailure === 'unavailable') void reply.header('retry-after', String(BACKEND_RETRY_AFTER_SECONDS))
        // A browser's first request carries no credentials: that is not a guess, so it is not counted.
        if (request.authFailure === 'invalid' || request.authFailure === 'malformed' || request.authFailure === 'denied') throttle.failure(client)
      }
      done(err)
    })
  }
  app.addHook('onRequest', authenticate)
}

export default fp(basicAuthPlugin, { name: 'auth-proxy-basic-auth', fastify: '5.x' })
