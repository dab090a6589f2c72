// The two small interfaces every credential method implements, like kube-rbac-proxy's authenticators:
//   - a RequestAuthenticator reads one kind of credentials from a request — an OpenID Connect session cookie, a
//     bearer token (RFC 6750), Basic (RFC 7617) — and accepts, refuses, or finds none of its kind;
//   - a PasswordVerifier (verifier.ts) checks a user name and password for Basic: htpasswd, a static user, LDAP.
// What a method needs to live — readiness, status for /readyz, closing — is the Lifecycle both share.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Identity } from './identity.ts'

/** The request carries no credentials of this authenticator's kind: the next one is asked. */
export const ABSENT = Symbol('no credentials of this kind')

export type Verdict = Identity | typeof ABSENT

export interface RequestAuthenticator {
  readonly name: 'session' | 'bearer' | 'basic'
  /** Its WWW-Authenticate challenge for a 401 (RFC 9110 §11.6.1), if it offers one. */
  readonly challenge?: string
  /**
   * Calls back with the identity, with ABSENT, or with the error to answer (request.authFailure saying why).
   * Callback style: this is the hot path, and a promise per request shows in the profile.
   */
  authenticate (request: FastifyRequest, reply: FastifyReply, done: (err: Error | null, verdict?: Verdict) => void): void
}

/** What the proxy asks of every method and verifier it depends on. */
export interface Lifecycle {
  /** Short stable name used in logs, metrics and readiness details, e.g. "htpasswd". */
  readonly name: string
  /** True while it can answer (holds credentials, reaches its server). */
  ready (): boolean
  /** Details for /readyz (a refused reload, the server down and why), never secrets. */
  status? (): object
  close? (): Promise<void>
}
