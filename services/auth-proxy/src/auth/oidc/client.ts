// The OpenID Connect relying party (openid-client): discovery, the authorization code flow with PKCE, state and
// nonce, refresh-token renewal, RP-initiated logout, and validation of bearer JWTs from the same issuer (jose).
// Who may enter (allowed e-mail domains and groups) is decided here for sessions and bearer tokens alike.
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose'
import * as client from 'openid-client'
import { BackendHealth, type HealthStatus, checkNowAndEvery } from '../../util/health.ts'
import { isLoopbackHost } from '../../util/net.ts'
import type { OidcConfig } from './config.ts'
import { readPasswordFile } from '../../util/secret-file.ts'
import { AccessDenied, BackendUnavailable, InvalidBearer, InvalidLogoutToken } from '../../errors.ts'
import type { OperatorLog } from '../../log.ts'

/** Bearer JWTs must be signed with one of these: never `none`, never a shared-secret HMAC (RFC 8725 §3.1). */
export const BEARER_ALGORITHMS = Object.freeze(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'])
/** Clock difference tolerated between us and the provider when checking exp/nbf/iat. */
export const CLOCK_TOLERANCE_S = 30


/** Errors that are the provider's (or the protocol checks') answer rather than a failure to reach it. */
export function isProviderAnswer (err: unknown): boolean {
  return err instanceof client.ResponseBodyError || err instanceof client.AuthorizationResponseError ||
    err instanceof client.WWWAuthenticateChallengeError || err instanceof client.ClientError
}

/** What the login round trip must remember between the redirect and the callback (in an encrypted cookie). */
export interface LoginState {
  readonly state: string
  readonly nonce: string
  readonly verifier: string
  readonly returnTo: string
  readonly redirectUri: string
}

/** What a valid logout token names: the provider session (`sid`) or subject (`sub`), and its id for replays. */
/** `exp`: until when the token would be accepted (its `jti` is remembered that long); `iat`: when it was issued. */
export interface LogoutClaims { readonly jti: string, readonly sid?: string, readonly sub?: string, readonly iat: number, readonly exp: number }

/** The `events` member a logout token must carry (Back-Channel Logout 1.0 §2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'
/** A logout token older than this is refused: providers send them at once. */
const LOGOUT_TOKEN_MAX_AGE_S = 300

/** Who the claims say the user is, once allowed in. */
export interface OidcIdentity { readonly user: string, readonly email?: string, readonly groups: readonly string[] }

export interface LoginResult {
  readonly identity: OidcIdentity
  /** The ID token's `sub` and `sid` (the provider's session), when given: what a back-channel logout names. */
  readonly subject?: string
  readonly providerSession?: string
  readonly refreshToken?: string
  readonly accessToken: string
  readonly idToken?: string
  /** Seconds until the access token expires. */
  readonly expiresIn: number
}

/** What a token endpoint response must give us (authorization code and refresh grants alike). */
interface Tokens {
  claims (): client.IDToken | undefined
  expiresIn (): number | undefined
  readonly access_token: string
  readonly refresh_token?: string
  readonly id_token?: string
}

function stringClaim (claims: JWTPayload, name: string): string | undefined {
  const value = claims[name]
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** How often a request may trigger a health check of a provider that is down (besides OIDC_HEALTH_INTERVAL). */
const RECHECK_MS = 2_000

export class OidcClient {
  readonly #config: OidcConfig
  readonly #secret: string | undefined
  readonly #health: BackendHealth
  #configuration: client.Configuration | undefined
  #jwks: ReturnType<typeof createRemoteJWKSet> | undefined
  #stopChecks: () => void = () => {}

  private constructor (config: OidcConfig, secret: string | undefined, log: OperatorLog | undefined) {
    this.#config = config
    this.#secret = secret
    this.#health = new BackendHealth('OpenID provider', () => config.issuerUrl, log)
  }

  /** Reads the client secret file, discovers the provider (not ready until it answers) and keeps checking it. */
  static async create (config: OidcConfig, log?: OperatorLog): Promise<OidcClient> {
    const secret = config.clientSecretFile !== undefined ? await readPasswordFile(config.clientSecretFile, 'OIDC_CLIENT_SECRET_FILE') : config.clientSecret
    const oidc = new OidcClient(config, secret, log)
    oidc.#stopChecks = await checkNowAndEvery(async () => await oidc.check(), config.healthIntervalMs)
    return oidc
  }

  get config (): OidcConfig { return this.#config }
  ready (): boolean { return this.#health.up && this.#configuration !== undefined }
  status (): HealthStatus { return this.#health.status() }

  /** Discovers the provider if not yet done, else re-reads its metadata document. Never throws. */
  async check (): Promise<boolean> {
    try {
      if (this.#configuration === undefined) {
        const insecure = new URL(this.#config.issuerUrl).protocol === 'http:' && isLoopbackHost(new URL(this.#config.issuerUrl).hostname)
        this.#configuration = await client.discovery(
          new URL(this.#config.issuerUrl),
          this.#config.clientId,
          undefined,
          this.#secret === undefined ? client.None() : client.ClientSecretBasic(this.#secret),
          // Plain http:// only for a provider on loopback (config.ts refuses it elsewhere): a sidecar IdP, tests.
          // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated only to flag it as non-production
          { execute: insecure ? [client.allowInsecureRequests] : [], timeout: Math.ceil(this.#config.timeoutMs / 1000) }
        )
        const jwksUri = this.#configuration.serverMetadata().jwks_uri
        if (jwksUri !== undefined) this.#jwks = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: this.#config.timeoutMs })
      } else {
        const res = await fetch(new URL('.well-known/openid-configuration', this.#config.issuerUrl.replace(/\/?$/, '/')), { signal: AbortSignal.timeout(this.#config.timeoutMs) })
        await res.body?.cancel()
        if (!res.ok) throw new Error(`discovery document: HTTP ${res.status}`)
      }
      this.#health.markUp()
    } catch (err) {
      this.#health.markDown(`discovery: ${(err as Error).message}`)
    }
    return this.ready()
  }

  #lastRecheck = 0
  /** An extra health check, at most one every RECHECK_MS, when a request finds the provider down. */
  #recheck (): void {
    const now = Date.now()
    if (now - this.#lastRecheck < RECHECK_MS) return
    this.#lastRecheck = now
    void this.check()
  }

  #discovered (): client.Configuration {
    if (this.#configuration === undefined) throw new BackendUnavailable('the OpenID provider has not been discovered yet')
    return this.#configuration
  }

  /** Runs a call to the provider; a failure to reach it becomes BackendUnavailable (and "not ready"). */
  async #call<T> (what: string, call: () => Promise<T>): Promise<T> {
    try {
      const result = await call()
      this.#health.markUp()
      return result
    } catch (err) {
      if (isProviderAnswer(err) || err instanceof AccessDenied || err instanceof BackendUnavailable) throw err
      this.#health.markDown(`${what}: ${(err as Error).message}`)
      throw new BackendUnavailable(`${what}: ${(err as Error).message}`, { cause: err })
    }
  }

  /**
   * The provider's authorization URL for a new login, and what the callback must check. Refused while the provider
   * is known to be down (a health check or a call failed since it last answered): sending a browser there would
   * only show it an error page of the network's — it gets 503 with Retry-After instead, and the provider is
   * checked again at once so that the next login goes through as soon as it answers.
   */
  async startLogin (redirectUri: string, returnTo: string): Promise<{ url: URL, login: LoginState }> {
    if (!this.#health.up) {
      this.#recheck()
      throw new BackendUnavailable('the OpenID provider is unreachable')
    }
    const configuration = this.#discovered()
    const verifier = client.randomPKCECodeVerifier()
    const login: LoginState = { state: client.randomState(), nonce: client.randomNonce(), verifier, returnTo, redirectUri }
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri,
      scope: this.#config.scopes.join(' '),
      state: login.state,
      nonce: login.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), // RFC 7636, S256
      code_challenge_method: 'S256'
    })
    return { url, login }
  }

  /** Exchanges the code (checking state, nonce, PKCE and the ID token), then applies the allow-lists. */
  async finishLogin (callbackUrl: URL, login: LoginState): Promise<LoginResult> {
    const configuration = this.#discovered()
    const tokens = await this.#call('token', async () => await client.authorizationCodeGrant(configuration, callbackUrl, {
      pkceCodeVerifier: login.verifier,
      expectedState: login.state,
      expectedNonce: login.nonce,
      idTokenExpected: true
    }, { redirect_uri: login.redirectUri }))
    return await this.#result(tokens)
  }

  /** Renews with a refresh token; the user's claims (and so the allow-lists) are checked afresh. */
  async refresh (refreshToken: string): Promise<LoginResult> {
    const configuration = this.#discovered()
    const tokens = await this.#call('refresh', async () => await client.refreshTokenGrant(configuration, refreshToken))
    const result = await this.#result(tokens)
    // Providers that do not rotate refresh tokens return none: keep using the one we have.
    return result.refreshToken === undefined ? { ...result, refreshToken } : result
  }

  async #result (tokens: Tokens): Promise<LoginResult> {
    const configuration = this.#discovered()
    let claims: JWTPayload = { ...(tokens.claims() ?? {}) }
    if (configuration.serverMetadata().userinfo_endpoint !== undefined && typeof claims.sub === 'string') {
      // Many providers put profile, e-mail and group claims in userinfo only, not in the ID token.
      const sub = claims.sub
      const info = await this.#call('userinfo', async () => await client.fetchUserInfo(configuration, tokens.access_token, sub))
      claims = { ...claims, ...info }
    }
    const subject = stringClaim(claims, 'sub')
    const providerSession = stringClaim(tokens.claims() ?? {}, 'sid')
    return {
      identity: this.identity(claims),
      ...(subject !== undefined && { subject }),
      ...(providerSession !== undefined && { providerSession }),
      accessToken: tokens.access_token,
      ...(tokens.refresh_token !== undefined && { refreshToken: tokens.refresh_token }),
      ...(tokens.id_token !== undefined && { idToken: tokens.id_token }),
      expiresIn: tokens.expiresIn() ?? 300
    }
  }

  /**
   * A JWT signed by the provider's keys with an allowed algorithm, from its issuer, within the clock tolerance;
   * `refuse` makes the error for a token that fails (a key set that cannot be fetched is the provider down, not the
   * token wrong: BackendUnavailable).
   */
  async #verifyJwt (token: string, options: Pick<JWTVerifyOptions, 'audience' | 'maxTokenAge' | 'requiredClaims'>, refuse: (message: string, cause: unknown) => Error): Promise<JWTPayload> {
    const configuration = this.#discovered()
    const jwks = this.#jwks
    if (jwks === undefined) throw new BackendUnavailable('the provider publishes no jwks_uri')
    try {
      return (await jwtVerify(token, jwks, {
        issuer: configuration.serverMetadata().issuer, algorithms: [...BEARER_ALGORITHMS], clockTolerance: CLOCK_TOLERANCE_S, ...options
      })).payload
    } catch (err) {
      const code = (err as { code?: string }).code
      if (code === 'ERR_JWKS_TIMEOUT' || (code === undefined && err instanceof TypeError)) {
        throw new BackendUnavailable(`jwks: ${(err as Error).message}`, { cause: err })
      }
      throw refuse((err as Error).message, err)
    }
  }

  /** Validates a bearer JWT: signature by the provider's keys, issuer, audience, expiry, algorithm allow-list. */
  async verifyBearer (token: string): Promise<OidcIdentity> {
    const payload = await this.#verifyJwt(token, { audience: [this.#config.clientId, ...this.#config.bearerAudiences], requiredClaims: ['exp', 'sub'] },
      (message, cause) => new InvalidBearer(message, { cause }))
    // A logout token is signed by the same keys for the same audience, with a `sub` and an `exp`: refused by what
    // only it carries (Back-Channel Logout 1.0 §2.4), or whoever saw one could use it as a bearer for minutes.
    if (payload.events !== undefined) throw new InvalidBearer('a logout token is not a bearer token')
    return this.identity(payload)
  }

  /**
   * Validates a back-channel logout token (OpenID Connect Back-Channel Logout 1.0 §2.6): signed by the provider's
   * keys with an allowed algorithm, our client id as audience, issued recently, the back-channel logout event, a
   * `jti`, a `sid` or a `sub`, and no `nonce` (which would make it an ID token someone is replaying as one).
   */
  async verifyLogoutToken (token: string): Promise<LogoutClaims> {
    const payload = await this.#verifyJwt(token, { audience: this.#config.clientId, maxTokenAge: LOGOUT_TOKEN_MAX_AGE_S, requiredClaims: ['iat', 'jti', 'events'] },
      (message, cause) => new InvalidLogoutToken(message, { cause }))
    // §2.4: `events` is a JSON object whose member for the back-channel logout event is a JSON object (not an array).
    const events = payload.events
    const event = events !== null && typeof events === 'object' && !Array.isArray(events) ? (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT] : undefined
    if (event === null || typeof event !== 'object' || Array.isArray(event)) throw new InvalidLogoutToken('no back-channel logout event')
    if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > 256) throw new InvalidLogoutToken('jti is not a string')
    if ('nonce' in payload) throw new InvalidLogoutToken('a logout token carries no nonce')
    const sid = stringClaim(payload, 'sid')
    const sub = stringClaim(payload, 'sub')
    if (sid === undefined && sub === undefined) throw new InvalidLogoutToken('neither sid nor sub')
    const iat = payload.iat ?? 0
    // Accepted while neither `exp` nor the age limit has passed, each with the clock tolerance jose allows: the `jti`
    // must be remembered that long (a replay just after `exp` would pass otherwise), and no longer (bounded).
    const acceptedUntil = Math.min(payload.exp ?? Infinity, iat + LOGOUT_TOKEN_MAX_AGE_S) + CLOCK_TOLERANCE_S
    return { jti: payload.jti, ...(sid !== undefined && { sid }), ...(sub !== undefined && { sub }), iat, exp: acceptedUntil }
  }

  /** The identity from claims, or AccessDenied when the allow-lists exclude the user. */
  identity (claims: JWTPayload): OidcIdentity {
    const email = stringClaim(claims, 'email')
    const user = stringClaim(claims, this.#config.userClaim) ?? email ?? stringClaim(claims, 'sub') ?? ''
    if (user === '') throw new AccessDenied('no user claim')
    const rawGroups = claims[this.#config.groupsClaim]
    const groups = Array.isArray(rawGroups) ? rawGroups.filter((g): g is string => typeof g === 'string') : typeof rawGroups === 'string' ? [rawGroups] : []
    const { allowedEmailDomains, allowedGroups } = this.#config
    if (allowedEmailDomains.length > 0) {
      // An unverified address proves nothing about the domain (anyone can type one at some providers).
      const domain = email?.split('@').pop()?.toLowerCase()
      if (email === undefined || claims.email_verified === false || domain === undefined || !allowedEmailDomains.includes(domain)) {
        throw new AccessDenied('e-mail domain not in OIDC_ALLOWED_EMAIL_DOMAINS', user)
      }
    }
    if (allowedGroups.length > 0 && !groups.some((g) => allowedGroups.includes(g))) {
      throw new AccessDenied('not in any of OIDC_ALLOWED_GROUPS', user)
    }
    return { user, ...(email !== undefined && { email }), groups }
  }

  /** The provider's end_session_endpoint for RP-initiated logout, or undefined when it has none. */
  endSessionUrl (idToken: string | undefined, postLogoutRedirectUri: string): URL | undefined {
    const configuration = this.#discovered()
    if (configuration.serverMetadata().end_session_endpoint === undefined) return undefined
    return client.buildEndSessionUrl(configuration, {
      post_logout_redirect_uri: postLogoutRedirectUri,
      ...(idToken !== undefined && { id_token_hint: idToken })
    })
  }

  close (): void { this.#stopChecks() }
}
