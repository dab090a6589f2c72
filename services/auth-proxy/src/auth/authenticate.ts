// Who is this request from? One onRequest hook in front of every forwarded route:
//   1. PUBLIC_PATHS and the proxy's own endpoints (AUTH_PATH_PREFIX): no authentication here;
//   2. each request authenticator in turn (authenticator.ts) — an OpenID Connect session cookie always first, then
//      a bearer token (RFC 6750) and Basic (RFC 7617) in the order AUTH_BACKENDS gives (plugin.ts): the first that accepts
//      wins; one that refuses does not stop the others (a stale Basic header beside a valid session is no reason
//      to turn the session away); one that finds no credentials of its kind passes;
//   3. none accepted: the most telling refusal is answered (503 before 429 before 403 before 401); none refused
//      either — no credentials at all — a browser navigating is sent to the login (OpenID Connect), anything else
//      gets 401 with a challenge for each method on offer (RFC 9110 §11.6.1).
// The accepted identity must be one the proxy can pass on (identity.ts isForwardable), else 403.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { PublicPath } from '../config.ts'
import { forbidden, UnauthorizedError } from '../errors.ts'
import { ABSENT, type RequestAuthenticator, type Verdict } from './authenticator.ts'
import { isForwardable, type Identity } from './identity.ts'
import { isPublic } from './public-paths.ts'
import type { FailureThrottle } from './throttle.ts'

/** Why a request was not authenticated, for the log line and metrics. Never includes what was sent. */
export type AuthFailure = 'missing' | 'malformed' | 'invalid' | 'denied' | 'throttled' | 'unavailable'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set once the request is authenticated; null before that. */
    identity: Identity | null
    authFailure: AuthFailure | null
  }
}

export interface AuthenticateOptions {
  /** Tried in this order. */
  readonly authenticators: readonly RequestAuthenticator[]
  readonly publicPaths: readonly PublicPath[]
  /** AUTH_PATH_PREFIX when the proxy has endpoints of its own there (OpenID Connect); they authenticate themselves. */
  readonly ownPrefix?: string
  /** A browser with no credentials at all is sent to log in (OpenID Connect), rather than answered 401. */
  readonly startLogin?: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>
  readonly throttle: FailureThrottle
}

/** A browser loading a page (not a script's fetch): it can follow a redirect to a login form and back. */
function isNavigation (request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false
  const mode = request.headers['sec-fetch-mode']
  if (mode !== undefined) return mode === 'navigate'
  return (request.headers.accept ?? '').includes('text/html')
}

/** Which of two refusals to answer with: the one the client can act on best. */
const RANK: Record<number, number> = { 503: 4, 429: 3, 403: 2, 401: 1 }
function rank (err: Error): number { return RANK[(err as { statusCode?: number }).statusCode ?? 0] ?? 0 }

/** Under the prefix itself or below it, matched on the raw path (the request guard has refused dot-segments). */
function under (prefix: string | undefined, url: string): boolean {
  if (prefix === undefined || !url.startsWith(prefix)) return false
  const next = url.charAt(prefix.length)
  return next === '' || next === '/' || next === '?'
}

/** Nothing accepted and nothing refused: 401 — a malformed guess if an Authorization header no method could read was sent. */
function noCredentials (request: FastifyRequest, throttle: FailureThrottle): Error {
  if (request.headers.authorization === undefined) {
    request.authFailure = 'missing' // a browser's first request: not a guess, not counted
  } else {
    request.authFailure = 'malformed'
    throttle.malformed(request.clientAddress)
  }
  return new UnauthorizedError()
}

/** RFC 9110 §11.6.1: one challenge per method on offer; RFC 6750 §3.1: the bearer error, when a token was the problem. */
function challengeHeader (challenges: readonly string[], err: Error): string[] {
  const bearerError = (err as { bearerError?: string }).bearerError
  return challenges.map((c) => (bearerError !== undefined && c.startsWith('Bearer') ? `${c}, error="${bearerError}"` : c))
}

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async functions by contract
const authenticatePlugin: FastifyPluginAsync<AuthenticateOptions> = async (app, opts) => {
  app.decorateRequest('identity', null)
  app.decorateRequest('authFailure', null)
  const { authenticators, throttle, startLogin } = opts
  const challenges = authenticators.flatMap((a) => (a.challenge === undefined ? [] : [a.challenge]))

  /** The answer when nothing accepted: the best refusal, or (no credentials at all) a login or a 401. */
  function refuse (request: FastifyRequest, reply: FastifyReply, refusal: Error | undefined, reason: AuthFailure | null, done: (err?: Error) => void): void {
    if (refusal === undefined && startLogin !== undefined && isNavigation(request)) {
      // A page load with nothing any method accepted or refused (perhaps an Authorization header of a scheme no
      // method reads, like Negotiate): off to the login — no guess to count, no challenge on the redirect.
      request.authFailure = 'missing'
      startLogin(request, reply).then(() => { done() }, done)
      return
    }
    if (refusal !== undefined) request.authFailure = reason // the chosen refusal's own reason, whoever refused last
    const err = refusal ?? noCredentials(request, throttle)
    if ((err as { statusCode?: number }).statusCode === 401) void reply.header('www-authenticate', challengeHeader(challenges, err))
    done(err)
  }

  function accept (request: FastifyRequest, identity: Identity, done: (err?: Error) => void): void {
    if (!isForwardable(identity)) {
      request.authFailure = 'denied'
      done(forbidden(identity.user))
      return
    }
    request.identity = identity
    request.authFailure = null
    done()
  }

  app.addHook('onRequest', function (request, reply, done) {
    if (isPublic(request.method, request.url, opts.publicPaths) || under(opts.ownPrefix, request.url)) { done(); return }
    let refusal: Error | undefined
    let reason: AuthFailure | null = null
    const next = (i: number): void => {
      const authenticator = authenticators[i]
      if (authenticator === undefined) { refuse(request, reply, refusal, reason, done); return }
      authenticator.authenticate(request, reply, (err: Error | null, verdict?: Verdict) => {
        if (err !== null) {
          if (refusal === undefined || rank(err) > rank(refusal)) { refusal = err; reason = request.authFailure }
          next(i + 1)
        } else if (verdict === undefined || verdict === ABSENT) {
          next(i + 1)
        } else {
          accept(request, verdict, done)
        }
      })
    }
    next(0)
  })
}

export default fp(authenticatePlugin, { name: 'auth-proxy-authenticate', fastify: '5.x' })
