// Who is this request from? One onRequest hook in front of every forwarded route, trying in turn:
//   1. PUBLIC_PATHS and the proxy's own endpoints: no authentication here;
//   2. an OpenID Connect session cookie (renewed with its refresh token when due);
//   3. `Authorization: Bearer <JWT>` from the OpenID provider (RFC 6750);
//   4. `Authorization: Basic` against htpasswd / static / LDAP (RFC 7617);
//   5. nothing usable: a browser navigating is sent to the provider's login (OpenID Connect), anything else gets
//      401 with a challenge for each method on offer.
// The failure throttle (auth/throttle.ts) refuses a blocked guess before any hashing and counts every bad
// credential: for Basic inside the credential check (basic-auth.ts, which knows the user name), for bearer tokens
// here.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { PublicPath } from '../config.ts'
import { BackendUnavailableError, ForbiddenError, TooManyFailuresError, UnauthorizedError } from '../errors.ts'
import { AccessDenied, isForwardable, type Identity } from './backend.ts'
import { BACKEND_RETRY_AFTER_SECONDS, checkBasic } from './basic-auth.ts'
import { ProviderUnavailable } from './backend-health.ts'
import { OIDC_BACKEND_NAME } from './oidc-config.ts'
import type { OidcLogin } from './oidc-login.ts'
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
  readonly realm: string
  readonly throttle: FailureThrottle
  readonly publicPaths: readonly PublicPath[]
  /** Basic credentials are checked (app.basicAuth registered). */
  readonly basic: boolean
  readonly oidc?: OidcLogin
}

/** A browser loading a page (not a script's fetch): it can follow a redirect to a login form and back. */
function isNavigation (request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false
  const mode = request.headers['sec-fetch-mode']
  if (mode !== undefined) return mode === 'navigate'
  return (request.headers.accept ?? '').includes('text/html')
}

function scheme (authorization: string | undefined): string | undefined {
  return authorization?.trimStart().split(' ', 1)[0]?.toLowerCase()
}

function unavailable (request: FastifyRequest, reply: FastifyReply, err: unknown): Error {
  request.authFailure = 'unavailable'
  void reply.header('retry-after', String(BACKEND_RETRY_AFTER_SECONDS))
  return new BackendUnavailableError({ cause: err })
}

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugins are async functions by contract
const authenticatePlugin: FastifyPluginAsync<AuthenticateOptions> = async (app, opts) => {
  app.decorateRequest('identity', null)
  app.decorateRequest('authFailure', null)
  const { throttle, oidc } = opts
  // RFC 6750 §3 / RFC 7235 §4.1: one challenge per method the client may use.
  const challenges = [
    ...(opts.basic ? [`Basic realm="${opts.realm}", charset="UTF-8"`] : []),
    ...(oidc !== undefined ? [`Bearer realm="${opts.realm}"`] : [])
  ]

  async function bearer (request: FastifyRequest, reply: FastifyReply, login: OidcLogin): Promise<void> {
    const token = (request.headers.authorization ?? '').trim().slice('bearer'.length).trim()
    try {
      const identity = await login.client.verifyBearer(token)
      request.identity = { user: identity.user, backend: OIDC_BACKEND_NAME, groups: identity.groups, ...(identity.email !== undefined && { email: identity.email }), ...(login.client.config.passAccessToken && { accessToken: token }) }
      throttle.success(request.clientAddress, '')
    } catch (err) {
      if (err instanceof ProviderUnavailable) throw unavailable(request, reply, err)
      throttle.failure(request.clientAddress, '')
      if (err instanceof AccessDenied) {
        request.authFailure = 'denied'
        throw new ForbiddenError()
      }
      request.authFailure = 'invalid'
      // RFC 6750 §3.1: say the token was the problem (not why: that stays in our log).
      void reply.header('www-authenticate', challenges.map((c) => (c.startsWith('Bearer') ? `${c}, error="invalid_token"` : c)))
      throw new UnauthorizedError()
    }
  }

  /** The identity cannot travel as a header (auth/backend.ts isForwardable): refused like a policy denial. */
  function unforwardable (request: FastifyRequest): Error | undefined {
    if (request.identity === null || isForwardable(request.identity)) return undefined
    request.identity = null
    request.authFailure = 'denied'
    return new ForbiddenError()
  }

  function basic (instance: FastifyInstance, request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void {
    checkBasic(instance, request, reply, (err) => {
      if (err === undefined) {
        const refused = unforwardable(request)
        if (refused !== undefined) { done(refused); return }
      } else if (request.authFailure === 'malformed') {
        // Counted against the client (no user name to count it against). Wrong passwords were counted by the
        // credential check; a browser's first request carries no credentials: that is not a guess at all.
        throttle.failure(request.clientAddress, '')
      }
      done(err)
    })
  }

  /** Refuses a bearer token from a client over its failure limits before validating it: it costs us nothing. */
  function throttled (request: FastifyRequest, reply: FastifyReply): Error | undefined {
    const wait = throttle.retryAfter(request.clientAddress, '')
    if (wait === 0) return undefined
    request.authFailure = 'throttled'
    void reply.header('retry-after', String(wait))
    return new TooManyFailuresError()
  }

  // The proxy's own endpoints (AUTH_PATH_PREFIX) authenticate in their handlers. Matched on the raw path, which
  // the path guard has already cleared of dot-segments (request.routeOptions would build an object per request).
  const prefix = oidc?.prefix
  function ownEndpoint (url: string): boolean {
    if (prefix === undefined || !url.startsWith(prefix)) return false
    const next = url.charAt(prefix.length)
    return next === '' || next === '/' || next === '?'
  }

  function exempt (request: FastifyRequest): boolean {
    return ownEndpoint(request.url) || isPublic(request.method, request.url, opts.publicPaths)
  }

  if (oidc === undefined) {
    // Basic only (the common sidecar): a callback hook, no promise per request.
    app.addHook('onRequest', function (request, reply, done) {
      if (isPublic(request.method, request.url, opts.publicPaths)) { done(); return }
      basic(this, request, reply, done)
    })
    return
  }

  app.addHook('onRequest', async function (request, reply) {
    if (exempt(request)) return
    const method = scheme(request.headers.authorization)
    let identity: Identity | null
    try {
      identity = await oidc.sessionIdentity(request, reply)
    } catch (err) {
      throw unavailable(request, reply, err)
    }
    if (identity !== null) {
      request.identity = identity
      const refused = unforwardable(request)
      if (refused !== undefined) throw refused
      return
    }
    if (method === 'bearer') {
      const blocked = throttled(request, reply)
      if (blocked !== undefined) throw blocked
      await bearer(request, reply, oidc)
      const refused = unforwardable(request)
      if (refused !== undefined) throw refused
      return
    }
    if (opts.basic && method === 'basic') {
      await new Promise<void>((resolve, reject) => { basic(this, request, reply, (err) => { if (err === undefined) resolve(); else reject(err) }) })
      return
    }
    if (isNavigation(request)) {
      request.authFailure = 'missing'
      try {
        return await oidc.startLogin(request, reply, request.url)
      } catch (err) {
        throw unavailable(request, reply, err)
      }
    }
    request.authFailure = method === undefined ? 'missing' : 'malformed'
    void reply.header('www-authenticate', challenges)
    throw new UnauthorizedError()
  })
}

export default fp(authenticatePlugin, { name: 'auth-proxy-authenticate', fastify: '5.x', dependencies: [] })
