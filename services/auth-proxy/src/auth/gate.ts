// Who is this request from, and may they make it? The one decision every request, and every forward-auth check,
// goes through (authenticate.ts runs it for the requests the proxy forwards; forward-auth/routes.ts for the requests
// an ingress describes):
//   1. the authorization rules (authz/policy.ts) for the described request: public → no login at all;
//   2. each request authenticator in turn (authenticator.ts) — an OpenID Connect session cookie always first, then
//      a bearer token (RFC 6750) and Basic (RFC 7617) in the order AUTH_BACKENDS gives (plugin.ts): the first that
//      accepts wins; one that refuses does not stop the others (a stale Basic header beside a valid session is no
//      reason to turn the session away); one that finds no credentials of its kind passes;
//   3. none accepted: the most telling refusal is answered (503 before 429 before 403 before 401); none refused
//      either — no credentials at all — a browser navigating is sent to the login (OpenID Connect), anything else
//      gets 401 with a challenge for each method on offer (RFC 9110 §11.6.1);
//   4. accepted: the identity (with HTPASSWD_GROUPS_FILE's groups) must be one the proxy can pass on
//      (identity.ts isForwardable) and one the rules allow, else 403.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Decision, Described, Policy } from '../authz/policy.ts'
import { forbidden, UnauthorizedError } from '../errors.ts'
import { ABSENT, type RequestAuthenticator, type Verdict } from './authenticator.ts'
import type { GroupFile } from './basic/groups-file.ts'
import { isForwardable, type Identity } from './identity.ts'
import type { FailureThrottle } from './throttle.ts'

/** Why a request was not authenticated, for the log line and metrics. Never includes what was sent. */
export type AuthFailure = 'missing' | 'malformed' | 'invalid' | 'denied' | 'throttled' | 'unavailable'

/** What the rules decided, for the log line: which rule(s), the outcome, and (forward-auth) the request checked. */
export interface AuthzOutcome {
  readonly rule: string
  decision: 'public' | 'allow' | 'deny' | 'pending'
  readonly checked?: Described
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set once the request is authenticated; null before that. */
    identity: Identity | null
    authFailure: AuthFailure | null
    authz: AuthzOutcome | null
  }
}

/** Sends a browser with no credentials to log in, returning it to where it was going. */
export type StartLogin = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>

export interface GateOptions {
  /** Tried in this order. */
  readonly authenticators: readonly RequestAuthenticator[]
  readonly throttle: FailureThrottle
  readonly policy: Policy
  readonly groups?: GroupFile
}

/** A browser loading a page (not a script's fetch): it can follow a redirect to a login form and back. */
export function isNavigation (request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false
  const mode = request.headers['sec-fetch-mode']
  if (mode !== undefined) return mode === 'navigate'
  return (request.headers.accept ?? '').includes('text/html')
}

/** Which of two refusals to answer with: the one the client can act on best. */
const RANK: Record<number, number> = { 503: 4, 429: 3, 403: 2, 401: 1 }
function rank (err: Error): number { return RANK[(err as { statusCode?: number }).statusCode ?? 0] ?? 0 }

/** RFC 9110 §11.6.1: one challenge per method on offer; RFC 6750 §3.1: the bearer error, when a token was the problem. */
function challengeHeader (challenges: readonly string[], err: Error): string[] {
  const bearerError = (err as { bearerError?: string }).bearerError
  return challenges.map((c) => (bearerError !== undefined && c.startsWith('Bearer') ? `${c}, error="${bearerError}"` : c))
}

export class Gate {
  readonly #authenticators: readonly RequestAuthenticator[]
  readonly #throttle: FailureThrottle
  readonly #policy: Policy
  readonly #groups: GroupFile | undefined
  /** The WWW-Authenticate challenges of every method on offer. */
  readonly challenges: readonly string[]

  constructor (opts: GateOptions) {
    this.#authenticators = opts.authenticators
    this.#throttle = opts.throttle
    this.#policy = opts.policy
    this.#groups = opts.groups
    this.challenges = opts.authenticators.flatMap((a) => (a.challenge === undefined ? [] : [a.challenge]))
  }

  /**
   * Decides `described` for `request`'s credentials: done() when it may go on (request.identity set unless the rule
   * is public), done(err) with the answer otherwise. `startLogin`: where a browser without credentials goes.
   * `checked`: the described request is an ingress's, not this one (forward-auth), and is logged as such.
   */
  pass (request: FastifyRequest, reply: FastifyReply, described: Described, startLogin: StartLogin | undefined, done: (err?: Error) => void, checked = false): void {
    const decision = this.#policy.evaluate(described)
    request.authz = { rule: decision.label, decision: decision.public ? 'public' : 'pending', ...(checked && { checked: described }) }
    if (decision.public) { done(); return }
    let refusal: Error | undefined
    let reason: AuthFailure | null = null
    const next = (i: number): void => {
      const authenticator = this.#authenticators[i]
      if (authenticator === undefined) { this.#refuse(request, reply, refusal, reason, startLogin, done); return }
      authenticator.authenticate(request, reply, (err: Error | null, verdict?: Verdict) => {
        if (err !== null) {
          if (refusal === undefined || rank(err) > rank(refusal)) { refusal = err; reason = request.authFailure }
          next(i + 1)
        } else if (verdict === undefined || verdict === ABSENT) {
          next(i + 1)
        } else {
          this.#accept(request, verdict, decision, done)
        }
      })
    }
    next(0)
  }

  /** Nothing accepted and nothing refused: 401 — a malformed guess if an Authorization header no method could read was sent. */
  #noCredentials (request: FastifyRequest): Error {
    if (request.headers.authorization === undefined) {
      request.authFailure = 'missing' // a browser's first request: not a guess, not counted
    } else {
      request.authFailure = 'malformed'
      this.#throttle.malformed(request.clientAddress)
    }
    return new UnauthorizedError()
  }

  /** The answer when nothing accepted: the best refusal, or (no credentials at all) a login or a 401. */
  #refuse (request: FastifyRequest, reply: FastifyReply, refusal: Error | undefined, reason: AuthFailure | null, startLogin: StartLogin | undefined, done: (err?: Error) => void): void {
    if (refusal === undefined && startLogin !== undefined && isNavigation(request)) {
      // A page load with nothing any method accepted or refused (perhaps an Authorization header of a scheme no
      // method reads, like Negotiate): off to the login — no guess to count, no challenge on the redirect.
      request.authFailure = 'missing'
      startLogin(request, reply).then(() => { done() }, done)
      return
    }
    if (refusal !== undefined) request.authFailure = reason // the chosen refusal's own reason, whoever refused last
    const err = refusal ?? this.#noCredentials(request)
    if ((err as { statusCode?: number }).statusCode === 401) void reply.header('www-authenticate', challengeHeader(this.challenges, err))
    done(err)
  }

  #accept (request: FastifyRequest, verdict: Identity, decision: Decision, done: (err?: Error) => void): void {
    const identity = this.#groups?.withGroups(verdict) ?? verdict
    if (!isForwardable(identity)) {
      request.authFailure = 'denied'
      done(forbidden(identity.user))
      return
    }
    request.identity = identity
    request.authFailure = null
    const allowed = this.#policy.allows(decision, identity)
    if (request.authz !== null) request.authz.decision = allowed ? 'allow' : 'deny'
    // Signed in, but the rules do not let this user make this request: 403, and nothing reaches the app.
    done(allowed ? undefined : forbidden(identity.user))
  }
}
