// HTTP Basic (RFC 7617) as a request authenticator. Parsing the header (scheme, token68, base64, control
// characters, the colon) is @fastify/basic-auth's; deciding is the password verifiers' (htpasswd, static, LDAP),
// behind the verify cache and the failure throttle. A request whose Authorization is not Basic has no Basic
// credentials: ABSENT, for the next authenticator (authenticate.ts).
import fastifyBasicAuth from '@fastify/basic-auth'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AccessDenied, backendUnavailable, retryAfter, TooManyFailuresError, UnauthorizedError } from '../../errors.ts'
import { ABSENT, type RequestAuthenticator, type Verdict } from '../authenticator.ts'
import type { FailureThrottle } from '../throttle.ts'
import type { CachedBackend } from '../verify-cache.ts'

export interface BasicOptions {
  readonly verifier: CachedBackend
  readonly throttle: FailureThrottle
  readonly realm: string
}

/** The verifier's verdict as the error to answer with (undefined: accepted, request.identity set). */
async function check (verifier: CachedBackend, user: string, password: string, request: FastifyRequest): Promise<Error | undefined> {
  try {
    const identity = await verifier.verify(user, password)
    // One error for unknown user and wrong password alike: the response never says which.
    if (identity === null) return new UnauthorizedError()
    request.identity = identity
    return undefined
  } catch (err) {
    if (err instanceof AccessDenied) {
      // Right password, but not allowed in: the same 401 as a wrong password, so it confirms nothing.
      request.authFailure = 'denied'
      return new UnauthorizedError({ cause: err })
    }
    // A verifier that cannot decide is "unavailable" (503), never "wrong password" (401).
    request.authFailure = 'unavailable'
    throw backendUnavailable(err)
  }
}

function isBasic (authorization: string | undefined): boolean {
  return authorization !== undefined && /^\s*basic(\s|$)/i.test(authorization)
}

/** Registers @fastify/basic-auth with the verifier and throttle, and returns the Basic request authenticator. */
export async function basicAuthenticator (app: FastifyInstance, { verifier, throttle, realm }: BasicOptions): Promise<RequestAuthenticator> {
  /** Asks the verifier, and counts the verdict for the throttle (a verifier that could not decide counts nothing). */
  function verify (user: string, password: string, request: FastifyRequest, done: (err?: Error) => void): void {
    check(verifier, user, password, request).then((err) => {
      if (err === undefined) throttle.success(request.clientAddress, user)
      else throttle.failure(request.clientAddress, user)
      done(err)
    }, done)
  }

  await app.register(fastifyBasicAuth, {
    // RFC 7617 §2.1: announce UTF-8 so browsers encode non-ASCII user names and passwords the same way we decode them.
    utf8: true,
    authenticate: false, // the challenges (Basic and Bearer together) are authenticate.ts'
    validate (user, password, request, _reply, done) {
      const hit = verifier.cached(user, password)
      if (hit !== undefined) {
        // Known to be right: no guess, so never throttled (auth/throttle.ts). Answered without a promise.
        request.identity = hit
        done()
        return
      }
      // Refused before any hashing: a blocked guess costs nothing.
      const wait = throttle.retryAfter(request.clientAddress, user)
      const delay = wait === 0 ? throttle.accountDelayMs(user) : 0
      if (wait > 0 || (delay > 0 && !throttle.startSlowCheck(user))) {
        request.authFailure = 'throttled'
        done(retryAfter(new TooManyFailuresError(), wait > 0 ? wait : Math.ceil(delay / 1000)))
        return
      }
      if (delay === 0) { verify(user, password, request, done); return }
      // An account under attack: its one check at a time, after the delay.
      setTimeout(() => {
        verify(user, password, request, (err) => { throttle.endSlowCheck(user); done(err) })
      }, delay)
    }
  })

  return {
    name: 'basic',
    // RFC 7617 §2.1: charset="UTF-8", as validated above.
    challenge: `Basic realm="${realm}", charset="UTF-8"`,
    authenticate (request: FastifyRequest, reply: FastifyReply, done: (err: Error | null, verdict?: Verdict) => void): void {
      if (!isBasic(request.headers.authorization)) { done(null, ABSENT); return }
      app.basicAuth(request, reply, (error?: Error) => {
        const err = error as FastifyError | undefined
        if (err === undefined) { done(null, request.identity ?? ABSENT); return }
        if (err.code === 'FST_BASIC_AUTH_MISSING_OR_BAD_AUTHORIZATION_HEADER') {
          // "Basic" with nothing usable after it: counted against the client (there is no user name to count).
          request.authFailure = 'malformed'
          throttle.failure(request.clientAddress, '')
          done(new UnauthorizedError())
          return
        }
        request.authFailure ??= 'invalid'
        done(err)
      })
    }
  }
}
