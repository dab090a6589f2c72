// HTTP Basic (RFC 7617) as a request authenticator. Parsing the header (scheme, token68, base64, control
// characters, the colon) is @fastify/basic-auth's; deciding is the password verifiers' (htpasswd, static, LDAP),
// behind the verify cache and the failure throttle. A request whose Authorization is not Basic has no Basic
// credentials: ABSENT, for the next authenticator (authenticate.ts).
import fastifyBasicAuth from '@fastify/basic-auth'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AccessDenied, backendUnavailable, PartlyRefused, retryAfter, TooManyFailuresError, UnauthorizedError } from '../../errors.ts'
import { ABSENT, type RequestAuthenticator, type Verdict } from '../authenticator.ts'
import type { Attempt } from '../attempt.ts'
import type { FailureThrottle, Outcome } from '../throttle.ts'
import type { Identity } from '../identity.ts'
import type { CachedBackend } from '../verify-cache.ts'

export interface BasicOptions {
  readonly verifier: CachedBackend
  readonly throttle: FailureThrottle
  readonly realm: string
}

/** The verifier's verdict: the error to answer with (undefined: accepted, request.identity set), and how it ended. */
async function check (verdict: Promise<Identity | null>, request: FastifyRequest): Promise<{ err?: Error, outcome: Outcome }> {
  try {
    const identity = await verdict
    // One error for unknown user and wrong password alike: the response never says which.
    if (identity === null) return { err: new UnauthorizedError(), outcome: 'failure' }
    request.identity = identity
    return { outcome: 'success' }
  } catch (err) {
    if (err instanceof AccessDenied) {
      // Right password, but not allowed in: the same 401 as a wrong password, so it confirms nothing.
      request.authFailure = 'denied'
      return { err: new UnauthorizedError({ cause: err }), outcome: 'failure' }
    }
    // A verifier that cannot decide is "unavailable" (503), never "wrong password" (401). If another verifier said
    // no, it is still a guess for the throttle: an LDAP outage must not leave htpasswd users open to guessing.
    request.authFailure = 'unavailable'
    return { err: backendUnavailable(err), outcome: err instanceof PartlyRefused ? 'undecided-refused' : 'undecided' }
  }
}

function isBasic (authorization: string | undefined): boolean {
  return authorization !== undefined && /^\s*basic(\s|$)/i.test(authorization)
}

function tooMany (request: FastifyRequest, seconds: number): Error {
  request.authFailure = 'throttled'
  return retryAfter(new TooManyFailuresError(), seconds)
}

/** Registers @fastify/basic-auth with the verifier and throttle, and returns the Basic request authenticator. */
export async function basicAuthenticator (app: FastifyInstance, { verifier, throttle, realm }: BasicOptions): Promise<RequestAuthenticator> {
  /** Asks the verifier and settles the attempt with its verdict. */
  function verify (attempt: Attempt | undefined, verdict: Promise<Identity | null>, request: FastifyRequest, done: (err?: Error) => void): void {
    check(verdict, request).then(({ err, outcome }) => {
      attempt?.end(outcome)
      done(err)
    }, (err: unknown) => { attempt?.end('undecided'); done(backendUnavailable(err)) })
  }

  await app.register(fastifyBasicAuth, {
    // RFC 7617 §2.1: announce UTF-8 so browsers encode non-ASCII user names and passwords the same way we decode them.
    utf8: true,
    authenticate: false, // the challenges (Basic and Bearer together) are gate.ts'
    validate (user, password, request, _reply, done) {
      const hit = verifier.cached(user, password)
      if (hit !== undefined) {
        // Known to be right: no guess, so never throttled (auth/throttle.ts). Answered without a promise.
        request.identity = hit
        done()
        return
      }
      // The same credentials already being checked (a browser's parallel first requests): one attempt, joined.
      const underway = verifier.underway(user, password)
      if (underway !== undefined) { verify(undefined, underway, request, done); return }
      // Refused before any hashing: a blocked guess costs nothing.
      const attempt = throttle.attempt(request.clientAddress, user)
      const failed = (err: unknown): void => { attempt.end('undecided'); done(err as Error) }
      attempt.start().then(({ refusedFor, delayMs }) => {
        if (refusedFor > 0) { done(tooMany(request, refusedFor)); return }
        if (delayMs === 0) { verify(attempt, verifier.verify(user, password), request, done); return }
        // An account under attack: one check at a time in this client's lane, after the delay.
        attempt.takeTurn().then((taken) => {
          if (!taken) { attempt.end('failure'); done(tooMany(request, Math.ceil(delayMs / 1000))); return }
          setTimeout(() => { verify(attempt, verifier.verify(user, password), request, done) }, delayMs)
        }, failed)
      }, failed)
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
          throttle.malformed(request.clientAddress)
          done(new UnauthorizedError())
          return
        }
        request.authFailure ??= 'invalid'
        done(err)
      })
    }
  }
}
