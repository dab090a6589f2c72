// OpenID Connect's two request authenticators: the session cookie a browser got from a login (renewed with its
// refresh token when due, login.ts), and a bearer JWT from the same provider (RFC 6750), checked against its keys.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { AccessDenied, BackendUnavailable, backendUnavailable, forbidden, retryAfter, TooManyFailuresError, UnauthorizedError } from '../../errors.ts'
import { ABSENT, type RequestAuthenticator, type Verdict } from '../authenticator.ts'
import type { Attempt } from '../attempt.ts'
import type { FailureThrottle } from '../throttle.ts'
import { OIDC_BACKEND_NAME } from './config.ts'
import type { OidcLogin } from './login.ts'

/** A 401 for a bearer token that is not the provider's: RFC 6750 §3.1 says so in the challenge (not why). */
export function invalidToken (cause: unknown): Error & { bearerError: string } {
  return Object.assign(new UnauthorizedError({ cause }), { bearerError: 'invalid_token' })
}

type Done = (err: Error | null, verdict?: Verdict) => void

export function sessionAuthenticator (login: OidcLogin): RequestAuthenticator {
  return {
    name: 'session',
    authenticate (request: FastifyRequest, reply: FastifyReply, done: Done): void {
      login.sessionIdentity(request, reply).then((identity) => { done(null, identity ?? ABSENT) }, (err: unknown) => {
        // A due refresh could not reach the provider: the session is kept for when it answers again.
        request.authFailure = 'unavailable'
        done(backendUnavailable(err))
      })
    }
  }
}

export function bearerAuthenticator (login: OidcLogin, throttle: FailureThrottle, realm: string): RequestAuthenticator {
  const client = login.client

  function verify (attempt: Attempt, token: string, request: FastifyRequest, done: Done): void {
    client.verifyBearer(token).then((identity) => {
      attempt.end('success')
      done(null, {
        user: identity.user,
        backend: OIDC_BACKEND_NAME,
        groups: identity.groups,
        ...(identity.email !== undefined && { email: identity.email }),
        ...(client.config.passAccessToken && { accessToken: token })
      })
    }, (err: unknown) => {
      if (err instanceof BackendUnavailable) { attempt.end('undecided'); request.authFailure = 'unavailable'; done(backendUnavailable(err)); return }
      attempt.end('failure')
      if (err instanceof AccessDenied) { request.authFailure = 'denied'; done(forbidden(err.user, err)); return }
      request.authFailure = 'invalid'
      done(invalidToken(err))
    })
  }

  return {
    name: 'bearer',
    challenge: `Bearer realm="${realm}"`,
    authenticate (request: FastifyRequest, _reply: FastifyReply, done: Done): void {
      const authorization = request.headers.authorization
      if (authorization === undefined || !/^\s*bearer(\s|$)/i.test(authorization)) { done(null, ABSENT); return }
      // Refused before the token is even checked when this client has failed too often (with this token, or any).
      const token = authorization.trim().slice('bearer'.length).trim()
      const attempt = throttle.tokenAttempt(request.clientAddress, token)
      attempt.start().then(({ refusedFor }) => {
        if (refusedFor > 0) {
          request.authFailure = 'throttled'
          done(retryAfter(new TooManyFailuresError(), refusedFor))
          return
        }
        verify(attempt, token, request, done)
      }, (err: unknown) => { done(err as Error) })
    }
  }
}
