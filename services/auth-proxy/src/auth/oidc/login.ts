// The browser side of OpenID Connect: sending a browser to the provider, completing the callback into a
// session cookie, reading (and renewing) that session on every request, and ending it.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { LoginResult, LoginState, LogoutClaims, OidcClient } from './client.ts'
import { CLOCK_TOLERANCE_S } from './client.ts'
import { Revocations } from './revocations.ts'
import { OIDC_BACKEND_NAME } from './config.ts'
import { safeReturnTarget } from './return-path.ts'
import { appendCookie, parseCookies, serializeCookie, SessionStore, type Session } from './session.ts'
import { AccessDenied, BackendUnavailable, InvalidLogoutToken } from '../../errors.ts'
import type { Identity } from '../identity.ts'
import { loginCookieName } from './cookie-names.ts'

/** How long a started login may take at the provider (typing a password, a second factor). */
export const LOGIN_TIMEOUT_S = 600

function nowS (): number { return Math.floor(Date.now() / 1000) }

export class OidcLogin {
  readonly client: OidcClient
  readonly store: SessionStore
  readonly prefix: string
  /** Refreshes under way, by refresh token: a page's parallel requests share one (rotated tokens work once). */
  readonly #refreshing = new Map<string, Promise<Session | null>>()

  readonly #cookieSecure: 'auto' | 'true' | 'false'
  /** AUTH_RETURN_DOMAINS: hosts besides this one a login may return to. */
  readonly returnDomains: readonly string[]
  /** Sessions logged out or ended by the provider (revocations.ts). */
  readonly revocations: Revocations

  constructor (client: OidcClient, store: SessionStore, prefix: string, options: { cookieSecure?: 'auto' | 'true' | 'false', returnDomains?: readonly string[], revocations?: Revocations } = {}) {
    this.client = client
    this.store = store
    this.prefix = prefix
    this.#cookieSecure = options.cookieSecure ?? 'auto'
    this.returnDomains = options.returnDomains ?? []
    this.revocations = options.revocations ?? new Revocations()
  }

  /**
   * A back-channel logout from the provider: the token checked (client.ts), its `jti` seen for the first time, then
   * every session of its provider session (`sid`) or, without one, of its subject revoked everywhere.
   */
  async backchannelLogout (token: string): Promise<LogoutClaims> {
    const claims = await this.client.verifyLogoutToken(token)
    if (!await this.revocations.firstSeen(claims.jti, claims.exp)) throw new InvalidLogoutToken('replayed')
    const until = nowS() + Math.ceil(this.store.lifetimeMs / 1000)
    if (claims.sid !== undefined) await this.revocations.revoke({ kind: 'provider-session', id: claims.sid, until })
    // Sessions logged in before the token was issued (within the clock tolerance), not before it arrived: a replay
    // within its lifetime must not reach sessions logged in since.
    else if (claims.sub !== undefined) await this.revocations.revoke({ kind: 'subject', id: claims.sub, before: Math.min(Date.now(), (claims.iat + CLOCK_TOLERANCE_S) * 1000), until })
    return claims
  }

  /** Where a login may return to: a path here, or a URL on a host of AUTH_RETURN_DOMAINS; else `/`. */
  returnTarget (candidate: unknown): string { return safeReturnTarget(candidate, this.returnDomains) }

  /**
   * Secure cookies whenever the browser's request was HTTPS (also behind a trusted TLS-terminating router), or
   * always with SESSION_COOKIE_SECURE=true (an edge Route whose router is not in TRUST_PROXY).
   */
  secure (request: FastifyRequest): boolean {
    return this.#cookieSecure === 'auto' ? request.protocol === 'https' : this.#cookieSecure === 'true'
  }

  redirectUri (request: FastifyRequest): string {
    return this.client.config.redirectUrl ?? `${request.protocol}://${request.host}${this.prefix}/callback`
  }

  /** One login cookie per login under way (named after its state), so two tabs logging in do not collide. */
  #loginCookieName (state: string): string {
    return loginCookieName(this.store.cookieName, state)
  }

  /** Redirects the browser to the provider; `returnTo` is checked again here, whatever the caller did. */
  async startLogin (request: FastifyRequest, reply: FastifyReply, returnTo: string): Promise<FastifyReply> {
    const { url, login } = await this.client.startLogin(this.redirectUri(request), this.returnTarget(returnTo))
    const sealed = await this.store.seal({ ...login, exp: nowS() + LOGIN_TIMEOUT_S })
    appendCookie(reply, serializeCookie(this.#loginCookieName(login.state), sealed, { secure: this.secure(request), path: `${this.prefix}/`, maxAge: LOGIN_TIMEOUT_S }))
    void reply.header('cache-control', 'no-store')
    return await reply.redirect(url.href, 302)
  }

  /** The login state the callback's `state` belongs to, or null (none, expired, or from another browser). */
  async loginState (request: FastifyRequest, reply: FastifyReply, state: string): Promise<LoginState | null> {
    const name = this.#loginCookieName(state)
    const raw = parseCookies(request.headers.cookie).get(name)
    if (raw === undefined) return null
    appendCookie(reply, serializeCookie(name, '', { secure: this.secure(request), path: `${this.prefix}/`, maxAge: 0 })) // used once
    const payload = await this.store.unsealPayload(raw)
    if (payload === null || payload.state !== state) return null
    return payload as unknown as LoginState
  }

  /** Writes the session cookie for a completed login or refresh; returns the sealed size (for the log). */
  async startSession (request: FastifyRequest, reply: FastifyReply, result: LoginResult, previous?: Session): Promise<{ session: Session, size: number }> {
    const session: Session = {
      sid: previous?.sid ?? SessionStore.newId(),
      user: result.identity.user,
      ...(result.identity.email !== undefined && { email: result.identity.email }),
      ...(result.identity.groups.length > 0 && { groups: result.identity.groups }),
      exp: previous?.exp ?? nowS() + Math.floor(this.store.lifetimeMs / 1000),
      refreshAt: nowS() + result.expiresIn,
      ...(result.refreshToken !== undefined && { refreshToken: result.refreshToken }),
      ...(this.client.config.passAccessToken && { accessToken: result.accessToken }),
      ...(result.idToken !== undefined && { idToken: result.idToken }),
      ...((previous?.sub ?? result.subject) !== undefined && { sub: previous?.sub ?? result.subject }),
      ...((previous?.psid ?? result.providerSession) !== undefined && { psid: previous?.psid ?? result.providerSession }),
      lat: previous?.lat ?? Date.now()
    }
    const size = await this.store.write(request, reply, session, this.secure(request))
    return { session, size }
  }

  /**
   * The identity from the session cookie, renewed with the refresh token once the provider's tokens expired.
   * Null when there is no usable session (none, tampered, expired, refresh refused, user no longer allowed).
   * Throws BackendUnavailable when a due refresh cannot reach the provider.
   */
  async sessionIdentity (request: FastifyRequest, reply: FastifyReply): Promise<Identity | null> {
    let session = await this.session(request, reply)
    if (session === null) return null
    if (session.refreshAt <= nowS() && session.refreshToken !== undefined) {
      session = await this.#refresh(request, reply, session)
      if (session === null) {
        this.store.clear(request, reply, this.secure(request))
        return null
      }
    }
    return {
      user: session.user,
      backend: OIDC_BACKEND_NAME,
      ...(session.email !== undefined && { email: session.email }),
      ...(session.groups !== undefined && { groups: session.groups }),
      ...(session.accessToken !== undefined && { accessToken: session.accessToken })
    }
  }

  async #refresh (request: FastifyRequest, reply: FastifyReply, session: Session): Promise<Session | null> {
    const token = session.refreshToken ?? ''
    let pending = this.#refreshing.get(token)
    if (pending === undefined) {
      pending = (async () => {
        try {
          return (await this.startSession(request, reply, await this.client.refresh(token), session)).session
        } catch (err) {
          if (err instanceof AccessDenied) return null // no longer allowed in: the session ends
          if (err instanceof BackendUnavailable) throw err
          return null // the provider refused the refresh token (revoked, expired): log in again
        }
      })().finally(() => { this.#refreshing.delete(token) })
      this.#refreshing.set(token, pending)
      return await pending
    }
    // Another request of this page did the refresh: send its new cookie with this response too.
    const renewed = await pending
    if (renewed !== null) await this.store.write(request, reply, renewed, this.secure(request))
    return renewed
  }

  /** The request's session, unless it was revoked (logged out, everywhere, or by the provider): then none, cookie cleared. */
  async session (request: FastifyRequest, reply: FastifyReply): Promise<Session | null> {
    const session = await this.store.read(request)
    if (session === null || !this.revocations.isRevoked(session)) return session
    this.store.clear(request, reply, this.secure(request))
    return null
  }

  /**
   * Ends the session here and — revoked, on every replica with REDIS_URL — for any copy of its cookie; with
   * `everywhere`, every session of the user issued until now. Then the provider's end-session URL (RP-initiated
   * logout) when it has one.
   */
  async logout (request: FastifyRequest, reply: FastifyReply, session: Session | null, everywhere = false): Promise<string> {
    if (session !== null) {
      const lifetimeS = Math.ceil(this.store.lifetimeMs / 1000)
      const sub = session.sub
      // "Everywhere" ends every session of the user logged in until now, this one too. So does a user's
      // SESSION_LOGOUTS_PER_SUBJECT-th logout within a session lifetime: one entry for them all, however many logins
      // and logouts an account cycles through (each revocation is an entry every replica holds).
      if (sub !== undefined && (everywhere || this.revocations.countLogout(sub, lifetimeS))) {
        await this.revocations.revoke({ kind: 'subject', id: sub, before: Date.now(), until: nowS() + lifetimeS })
      } else {
        await this.revocations.revoke({ kind: 'session', id: session.sid, until: session.exp })
      }
    }
    this.store.clear(request, reply, this.secure(request))
    const root = `${request.protocol}://${request.host}/`
    const target = this.client.ready() ? this.client.endSessionUrl(session?.idToken, this.client.config.postLogoutRedirectUrl ?? root) : undefined
    return target?.href ?? '/'
  }
}
