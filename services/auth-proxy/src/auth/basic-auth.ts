// HTTP Basic authentication (RFC 7617) via @fastify/basic-auth. Header parsing (scheme, token68, base64, control
// characters, the colon) is the plugin's; deciding whether the credentials are valid is the backend's. The hook
// that decides which method applies to a request is authenticate.ts'.
import fastifyBasicAuth from '@fastify/basic-auth'
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { BackendUnavailableError, TooManyFailuresError, UnauthorizedError } from '../errors.ts'
import { AccessDenied, type CredentialBackend, type Identity } from './backend.ts'
import type { FailureThrottle } from './throttle.ts'
import type { CachedBackend } from './verify-cache.ts'

/** Retry-After on a 503 from a backend that could not decide: about one directory health check away. */
export const BACKEND_RETRY_AFTER_SECONDS = 5

export interface BasicAuthPluginOptions {
  readonly backend: CachedBackend
  readonly throttle: FailureThrottle
  readonly realm: string
}

/** The backend's verdict as the error to answer with (undefined: accepted, request.identity set). */
async function check (backend: CredentialBackend, user: string, password: string, request: FastifyRequest): Promise<Error | undefined> {
  let identity: Identity | null
  try {
    identity = await backend.verify(user, password)
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

const basicAuthPlugin: FastifyPluginAsync<BasicAuthPluginOptions> = async (app, opts) => {
  const { backend, throttle } = opts

  /** Asks the backend, and counts the verdict for the throttle (a backend that could not decide counts nothing). */
  function verify (user: string, password: string, request: FastifyRequest, done: (err?: Error) => void): void {
    check(backend, user, password, request).then((err) => {
      if (err === undefined) throttle.success(request.clientAddress, user)
      else throttle.failure(request.clientAddress, user)
      done(err)
    }, done)
  }

  await app.register(fastifyBasicAuth, {
    // RFC 7617 §2.1: announce UTF-8 so browsers encode non-ASCII user names and passwords the same way we decode them.
    utf8: true,
    authenticate: { realm: opts.realm },
    // Callback style, answered synchronously from the verify cache when it can: most requests repeat credentials
    // checked moments ago, and a promise per request shows in the profile.
    validate (user, password, request, reply, done) {
      const hit = backend.cached(user, password)
      if (hit !== undefined) {
        // Known to be right: no guess, so never throttled (auth/throttle.ts).
        request.identity = hit
        done()
        return
      }
      // Refused before any hashing: a blocked guess costs nothing.
      const wait = throttle.retryAfter(request.clientAddress, user)
      const delay = wait === 0 ? throttle.accountDelayMs(user) : 0
      if (wait > 0 || (delay > 0 && !throttle.startSlowCheck(user))) {
        request.authFailure = 'throttled'
        void reply.header('retry-after', String(wait > 0 ? wait : Math.ceil(delay / 1000)))
        done(new TooManyFailuresError())
        return
      }
      if (delay === 0) { verify(user, password, request, done); return }
      // An account under attack: its one check at a time, after the delay.
      setTimeout(() => {
        verify(user, password, request, (err) => { throttle.endSlowCheck(user); done(err) })
      }, delay)
    }
  })
}

export default fp(basicAuthPlugin, { name: 'auth-proxy-basic-auth', fastify: '5.x' })

/**
 * Checks the request's Basic credentials. Resolves with nothing when accepted (request.identity set), or with the
 * error to answer, request.authFailure saying why for the log. Sets WWW-Authenticate and Retry-After as needed.
 */
export function checkBasic (app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, callback: (err: FastifyError | undefined) => void): void {
  // Callback style: this is the hot path of a Basic-only proxy, and a promise per request shows in the profile.
  app.basicAuth(request, reply, (error?: Error) => {
    const err = error as FastifyError | undefined
    if (err !== undefined) {
      request.authFailure = err.statusCode === 503
        ? 'unavailable'
        : err.code === 'FST_BASIC_AUTH_MISSING_OR_BAD_AUTHORIZATION_HEADER'
          ? (request.headers.authorization === undefined ? 'missing' : 'malformed')
          : request.authFailure ?? 'invalid'
      if (request.authFailure === 'unavailable') void reply.header('retry-after', String(BACKEND_RETRY_AFTER_SECONDS))
    }
    callback(err)
  })
}
